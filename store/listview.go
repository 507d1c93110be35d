package store

import (
	"io"
	"slices"
	"sort"
	"sync"
)

// listView is the records a tag query or a range of an unsorted index
// yields. It learns them in order and grows while the stream is live.
type listView struct {
	s  *Stream
	it recordIter

	mu    sync.Mutex
	found foundList // GUARDED_BY(mu): the records found so far
	next  int64     // GUARDED_BY(mu): the next record to look for
	final bool      // GUARDED_BY(mu)
}

// found is one record of a listView: its number, where its payload
// starts, and the view's size up to and including it.
type found struct{ rec, start, end int64 }

// foundChunk is how many found records one chunk of a foundList holds;
// the first starts at firstChunk and doubles, so that a small view costs
// little.
const (
	foundChunk = 1024
	firstChunk = 16
)

// A foundList holds found records in chunks that are filled in place. A
// copy of the list, taken under the view's lock, can be read without it
// while more records are added: nothing it reads is written again.
type foundList struct {
	chunks [][]found
	n      int
}

func (l *foundList) add(f found) {
	c, j := l.n/foundChunk, l.n%foundChunk
	switch {
	case c == len(l.chunks):
		size := foundChunk
		if c == 0 {
			size = firstChunk
		}
		l.chunks = append(l.chunks, make([]found, size))
	case j == len(l.chunks[c]):
		// The first chunk, full below foundChunk: a copy twice the size,
		// in a new list of chunks, so that copies taken before keep theirs.
		bigger := make([]found, 2*j)
		copy(bigger, l.chunks[c])
		l.chunks = append(l.chunks[:c:c], bigger)
	}
	l.chunks[c][j] = f
	l.n++
}

func (l foundList) at(k int) *found { return &l.chunks[k/foundChunk][k%foundChunk] }

// startOf returns where record k's bytes start in the view.
func (l foundList) startOf(k int) int64 {
	if k == 0 {
		return 0
	}
	return l.at(k - 1).end
}

func (l foundList) size() int64 { return l.startOf(l.n) }

// len returns record k's size.
func (l foundList) len(k int) int64 { return l.at(k).end - l.startOf(k) }

// after returns the first record whose end lies after view byte off.
func (l foundList) after(off int64) int {
	return sort.Search(l.n, func(k int) bool { return l.at(k).end > off })
}

func (v *listView) Size() (int64, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.refresh(); err != nil {
		return 0, err
	}
	return v.found.size(), nil
}

// listRun is how many records a refresh looks up at a time: their ends
// are read from offsets in one go.
const listRun = 512

func (v *listView) refresh() error {
	if v.final {
		return nil
	}
	count, err := v.s.Count()
	if err != nil {
		return err
	}
	v.it.setLimit(count)
	var recs [listRun]int64
	var ends [2 * listRun][wordSize]byte
	for {
		n, next := 0, v.next
		for ; n < len(recs); n++ {
			rec, ok, err := v.it.seek(next)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			recs[n], next = rec, rec+1
		}
		if n == 0 {
			break
		}
		// end(rec-1) and end(rec) of each, end(-1) being 0
		err := v.s.readEach(v.s.offsets, OffsetsFile, count*v.s.width, 2*n, func(i int) ([]byte, int64) {
			if rec := recs[i/2] - 1 + int64(i%2); rec >= 0 {
				return ends[i][:], rec * v.s.width
			}
			return nil, 0
		})
		if err != nil {
			return err
		}
		for k, rec := range recs[:n] {
			start, stop := word(ends[2*k][:]), word(ends[2*k+1][:])
			if rec == 0 {
				start = 0
			}
			if err := v.s.checkSpan(rec, rec, start, stop); err != nil {
				return err
			}
			v.found.add(found{rec, start, v.found.size() + stop - start})
		}
		v.next = next
		if n < len(recs) {
			break
		}
	}
	v.final = !v.s.live
	return nil
}

// snapshot returns the records found so far, refreshing first if fewer
// than want bytes of the view are known.
func (v *listView) snapshot(want int64) (foundList, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if want > v.found.size() {
		if err := v.refresh(); err != nil {
			return foundList{}, err
		}
	}
	return v.found, nil
}

func (v *listView) Boundary(off int64) (int64, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if off <= 0 {
		return 0, nil
	}
	if k := v.found.after(off - 1); k < v.found.n {
		return v.found.at(k).end, nil
	}
	return v.found.size(), nil
}

func (v *listView) Final() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.final
}

func (v *listView) ReadAt(p []byte, off int64) (int, error) {
	l, err := v.snapshot(off + int64(len(p)))
	if err != nil {
		return 0, err
	}
	// Records k to k+n-1 hold the view's bytes [off, off+len(p)).
	k := l.after(off)
	n := min(l.after(off+int64(len(p))-1)+1, l.n) - k
	err = v.s.readEach(v.s.payloads, PayloadsFile, v.s.knownEnd.Load(), n, func(i int) ([]byte, int64) {
		f, at := l.at(k+i), l.startOf(k+i) // the record and where it starts in the view
		from, to := max(at, off), min(f.end, off+int64(len(p)))
		return p[from-off : to-off], f.start + from - at
	})
	if err != nil {
		return 0, err
	}
	if size := l.size(); off+int64(len(p)) > size {
		return int(max(0, size-off)), io.EOF
	}
	return len(p), nil
}

// scanBuffer is how many bytes of records a scan of a listView reads at a
// time: records up to it are read in one go, then handed out.
const scanBuffer = 256 << 10

func (v *listView) Scan(from int64, fn func(int64, *Payload) error) (int64, error) {
	l, err := v.snapshot(0) // as of the last Size
	if err != nil {
		return from, err
	}
	k := sort.Search(l.n, func(k int) bool { return l.at(k).rec >= from })
	var buf []byte
	for k < l.n {
		// The records k..last-1 are read together into buf, unless they
		// are one record over maxInline, left in payloads for WriteTo.
		last, size := k+1, l.len(k)
		for last < l.n && size <= maxInline && size+l.len(last) <= scanBuffer {
			size += l.len(last)
			last++
		}
		inline := size <= maxInline
		if inline {
			buf = slices.Grow(buf[:0], int(size))[:size]
			base := l.startOf(k) // records go into buf as they lie in the view
			err := v.s.readEach(v.s.payloads, PayloadsFile, v.s.knownEnd.Load(), last-k, func(i int) ([]byte, int64) {
				f := l.at(k + i)
				return buf[l.startOf(k+i)-base : f.end-base], f.start
			})
			if err != nil {
				return l.at(k).rec, err
			}
		}
		var p Payload
		for at := int64(0); k < last; k++ {
			f, n := l.at(k), l.len(k)
			p = Payload{s: v.s, rec: f.rec, start: f.start, end: f.start + n}
			if inline {
				p.buf = buf[at : at+n]
				at += n
			}
			if err := fn(f.rec, &p); err != nil {
				return f.rec, err
			}
			from = f.rec + 1
		}
	}
	return from, nil
}
