package store

import (
	"fmt"
	"io"
	"sort"
)

// pickView is the records a list in seq/ names (seq/3,17,42 or
// seq/1:3,7,-1), in the order named, repeats kept. Each item is a run of
// consecutive records, resolved when the view opens: the view is final.
type pickView struct {
	s     *Stream
	parts []extent
	ends  []int64 // ends[k]: the view's bytes up to and including parts[k]
}

// pick resolves the items of a list against count records: a list is what
// its items name now. An item naming no record that exists is ErrNotFound;
// a range reaching past the last record stops there.
func (s *Stream) pick(items []Path, count int64) (*pickView, error) {
	v := &pickView{s: s, parts: make([]extent, len(items)), ends: make([]int64, len(items))}
	for k, item := range items {
		first, last, err := s.resolveSeq(item, count)
		if err != nil {
			return nil, err
		}
		last = min(last, count-1)
		if first > last {
			return nil, fmt.Errorf("stream %s: %s of %d records: %w", s.name, item, count, ErrNotFound)
		}
		v.parts[k] = extent{first: first, end: last + 1, final: true}
	}
	// The items' spans: end(first-1) and end(last) of each, read in one go
	// from records anywhere in the stream.
	words := make([][wordSize]byte, 2*len(items))
	err := s.readEach(s.offsets, OffsetsFile, count*s.width, len(words), func(i int) ([]byte, int64) {
		rec := v.parts[i/2].first - 1 // where the item starts
		if i%2 == 1 {
			rec = v.parts[i/2].end - 1 // where it stops
		}
		if rec < 0 {
			return nil, 0 // end(-1) is 0
		}
		return words[i][:], rec * s.width
	})
	if err != nil {
		return nil, err
	}
	size := int64(0)
	for k := range v.parts {
		ext := &v.parts[k]
		ext.start, ext.stop = word(words[2*k][:]), word(words[2*k+1][:])
		if ext.first == 0 {
			ext.start = 0
		}
		if err := s.checkSpan(ext.first, ext.end-1, ext.start, ext.stop); err != nil {
			return nil, err
		}
		size += ext.stop - ext.start
		v.ends[k] = size
	}
	return v, nil
}

func (v *pickView) size() int64 {
	if len(v.ends) == 0 {
		return 0
	}
	return v.ends[len(v.ends)-1]
}

func (v *pickView) Size() (int64, error) { return v.size(), nil }
func (v *pickView) Final() bool          { return true }

// part returns the item holding byte off of the view and where it starts.
func (v *pickView) part(off int64) (k int, at int64) {
	k = sort.Search(len(v.ends), func(k int) bool { return v.ends[k] > off })
	if k > 0 {
		at = v.ends[k-1]
	}
	return k, at
}

func (v *pickView) ReadAt(p []byte, off int64) (int, error) {
	// Items k to k+n-1 hold the view's bytes [off, off+len(p)).
	k, _ := v.part(off)
	end := min(off+int64(len(p)), v.size())
	n := 0
	if end > off {
		last, _ := v.part(end - 1)
		n = last - k + 1
	}
	err := v.s.readEach(v.s.payloads, PayloadsFile, v.s.knownEnd.Load(), n, func(i int) ([]byte, int64) {
		at := int64(0) // where item k+i starts in the view
		if k+i > 0 {
			at = v.ends[k+i-1]
		}
		from, to := max(at, off), min(v.ends[k+i], end)
		return p[from-off : to-off], v.parts[k+i].start + from - at
	})
	if err != nil {
		return 0, err
	}
	if end < off+int64(len(p)) {
		return int(max(0, end-off)), io.EOF
	}
	return len(p), nil
}

func (v *pickView) Boundary(off int64) (int64, error) {
	if off <= 0 {
		return 0, nil
	}
	k, at := v.part(off)
	if k == len(v.parts) {
		return v.size(), nil
	}
	if off == at {
		return at, nil // where part k begins
	}
	ext := v.parts[k]
	pos := ext.start + off - at
	end, err := v.s.endAtOrAfter(ext, pos)
	return at + end - ext.start, err
}

// Scan calls fn with the records of the list from the from-th on, a
// record named twice counting twice: from is a place in the list, not a
// record number, as records may come in any order.
func (v *pickView) Scan(from int64, fn func(int64, *Payload) error) (int64, error) {
	at := int64(0) // the place in the list of ext's first record
	for _, ext := range v.parts {
		n := ext.end - ext.first
		if from < at+n {
			next := max(from, at)
			err := v.s.scanRange(ext.first+next-at, ext.end, func(rec int64, p *Payload) error {
				if err := fn(rec, p); err != nil {
					return err
				}
				next++
				return nil
			})
			if err != nil {
				return next, err
			}
		}
		at += n
	}
	return max(from, at), nil
}
