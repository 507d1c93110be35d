package store

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"sync"
)

// A View is the bytes of a set of records, in record order, concatenated as
// stored. Its size is always a sum of whole visible records and never
// shrinks; it grows while the view is open-ended or not yet complete.
type View interface {
	// Size returns the view's size now, looking for new records first.
	Size() (int64, error)
	// ReadAt reads the view's bytes; past the end it returns io.EOF.
	ReadAt(p []byte, off int64) (int, error)
	// Final reports whether the view, as of the last Size, can no longer
	// change: all its records exist.
	Final() bool
	// Boundary returns the first record boundary at or after byte off of
	// the view, as of the last Size: 0, the end of a record, or the size.
	Boundary(off int64) (int64, error)
	// Scan calls fn with each record of the view numbered from on, as of
	// the last Size, and returns the number to continue from (for a list
	// in seq/, a place in the list). The payload is only valid during the
	// call.
	Scan(from int64, fn func(rec int64, p *Payload) error) (next int64, err error)
}

// View opens a record view (KindRecord, KindRange, KindIndex, KindQuery).
// Numbers from the end, time durations and index searches resolve now. A
// record that does not exist, an empty range (start after end), an unknown
// index or a query naming no known tag is ErrNotFound.
func (s *Stream) View(p Path) (View, error) {
	var count int64
	if p.Kind == KindRecord || p.Kind == KindRange || p.Kind == KindList {
		var err error
		if count, err = s.Count(); err != nil {
			return nil, err
		}
	}
	var v View
	switch p.Kind {
	case KindRecord, KindRange:
		first, last, err := s.resolveSeq(p, count)
		if err != nil {
			return nil, err
		}
		v = s.fixedRange(first, last)
	case KindList:
		var err error
		if v, err = s.pick(p.List, count); err != nil {
			return nil, err
		}
	case KindIndex:
		idx, err := s.IndexNumber(p.Index)
		if err != nil {
			return nil, err
		}
		if count, err = s.Count(); err != nil {
			return nil, err
		}
		// A view opened on a sorted index stays a range.
		switch sorted, err := s.IndexSorted(idx, count); {
		case err != nil:
			return nil, err
		case sorted:
			v = &rangeView{s: s, bound: s.indexBound(idx, p.From, p.To)}
		default:
			v = &listView{s: s, it: s.valueIter(idx, p.From, p.To)}
		}
	case KindQuery:
		it, err := p.Query.iter(s)
		if err != nil {
			return nil, err
		}
		v = &listView{s: s, it: it}
	default:
		return nil, fmt.Errorf("stream %s: %s is not a record view: %w", s.name, p, ErrBadName)
	}
	if _, err := v.Size(); err != nil {
		return nil, err
	}
	return v, nil
}

// resolveSeq resolves seq/N or seq/A:B against count records: the first
// and last record (last may be MaxInt64: open).
func (s *Stream) resolveSeq(p Path, count int64) (first, last int64, err error) {
	if p.Kind == KindRecord {
		i := resolve(p.From.V, count)
		if i < 0 || i >= count {
			return 0, 0, fmt.Errorf("stream %s: %s of %d records: %w", s.name, p, count, ErrNotFound)
		}
		return i, i, nil
	}
	first, last = 0, math.MaxInt64
	if p.From.Set {
		first = max(0, resolve(p.From.V, count))
	}
	if p.To.Set {
		last = resolve(p.To.V, count)
	}
	if first > last {
		return 0, 0, fmt.Errorf("stream %s: %s resolves to %d:%d: %w", s.name, p, first, last, ErrNotFound)
	}
	return first, last, nil
}

func resolve(v, count int64) int64 {
	if v < 0 {
		return count + v
	}
	return v
}

// extent is what a range view covers now: records [first, end), bytes
// [start, stop) of payloads.
type extent struct {
	first, end  int64
	start, stop int64
	final       bool // no record can be added to it
}

// spanned fills in the byte span of records [first, end).
func (s *Stream) spanned(first, end int64, final bool) (extent, error) {
	start, stop, err := s.Span(first, end-1)
	return extent{first, end, start, stop, final}, err
}

// fixedRange is records first..last (last may be MaxInt64: open).
func (s *Stream) fixedRange(first, last int64) *rangeView {
	return &rangeView{s: s, bound: func(count int64) (extent, error) {
		if last < count {
			return s.spanned(first, last+1, true)
		}
		// Records to come: what exists of the range so far, maybe nothing.
		return s.spanned(min(first, count), count, false)
	}}
}

// indexBound finds records whose value of index idx lies in [from, to].
// The searches yield the byte span too, from the blocks they read.
func (s *Stream) indexBound(idx int, from, to Bound) func(int64) (extent, error) {
	first, start := int64(-1), int64(0) // found once a record >= from exists
	return func(count int64) (extent, error) {
		if first < 0 {
			f, st, err := int64(0), int64(0), error(nil)
			if from.Set {
				if f, st, err = s.searchIndex(idx, from.V, 0, count); err != nil {
					return extent{}, err
				}
			}
			if f == count {
				return s.spanned(count, count, false)
			}
			first, start = f, st
		}
		if !to.Set || to.V == math.MaxInt64 {
			return s.spanned(first, count, false)
		}
		end, stop, err := s.searchIndex(idx, to.V+1, first, count)
		if err != nil {
			return extent{}, err
		}
		if err := s.checkSpan(first, end-1, start, stop); err != nil {
			return extent{}, err
		}
		// A record past to exists: no later record can fall in the range.
		return extent{first, end, start, stop, end < count}, nil
	}
}

// rangeView is consecutive records: one byte span of payloads.
type rangeView struct {
	s     *Stream
	bound func(count int64) (extent, error)

	mu  sync.Mutex
	ext extent // GUARDED_BY(mu)
}

func (v *rangeView) Size() (int64, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.refresh(); err != nil {
		return 0, err
	}
	return v.ext.stop - v.ext.start, nil
}

// refresh resolves the bounds against the current count. mu is held.
func (v *rangeView) refresh() error {
	if v.ext.final {
		return nil
	}
	count, err := v.s.Count()
	if err != nil {
		return err
	}
	ext, err := v.bound(count)
	if err != nil {
		return err
	}
	v.ext = ext
	return nil
}

func (v *rangeView) Scan(from int64, fn func(int64, *Payload) error) (int64, error) {
	v.mu.Lock()
	first, end := max(from, v.ext.first), v.ext.end
	v.mu.Unlock()
	if first >= end {
		return max(from, first), nil
	}
	return end, v.s.scanRange(first, end, fn)
}

func (v *rangeView) Boundary(off int64) (int64, error) {
	v.mu.Lock()
	ext := v.ext
	v.mu.Unlock()
	pos := ext.start + off
	if pos <= ext.start || pos >= ext.stop {
		return min(max(off, 0), ext.stop-ext.start), nil
	}
	end, err := v.s.endAtOrAfter(ext, pos)
	return end - ext.start, err
}

// endAtOrAfter returns the first end of a record of ext at or after byte
// pos of payloads: where a read of a view ending at pos may stop whole.
func (s *Stream) endAtOrAfter(ext extent, pos int64) (int64, error) {
	i, err := s.searchRecords(ext.first, ext.end, func(i int64) (bool, error) {
		end, err := s.end(i)
		return end >= pos, err
	})
	if err != nil {
		return 0, err
	}
	return s.end(i)
}

func (v *rangeView) Final() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.ext.final
}

func (v *rangeView) ReadAt(p []byte, off int64) (int, error) {
	start, stop, err := v.span(off, len(p))
	if err != nil {
		return 0, err
	}
	return readSpan(v.s, p, start+off, stop)
}

// span returns the view's span in payloads, refreshed if a read of n
// bytes at off reaches past what is known.
func (v *rangeView) span(off int64, n int) (start, stop int64, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ext.start+off+int64(n) > v.ext.stop {
		err = v.refresh()
	}
	return v.ext.start, v.ext.stop, err
}

// A Locator is a view whose bytes lie in one stretch of payloads. It says
// where, so that an adapter can have the kernel move them (splice) without
// reading them itself.
type Locator interface {
	// Locate returns the payloads file and the position and length there
	// of up to n bytes of the view at off; length 0 is the end.
	Locate(off int64, n int) (f File, pos int64, length int, err error)
}

func (v *rangeView) Locate(off int64, n int) (File, int64, int, error) {
	start, stop, err := v.span(off, n)
	if err != nil {
		return nil, 0, 0, err
	}
	pos := start + off
	return v.s.payloads, pos, int(max(0, min(int64(n), stop-pos))), nil
}

// readSpan reads payloads at pos, not past stop.
func readSpan(s *Stream, p []byte, pos, stop int64) (int, error) {
	if pos >= stop {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), stop-pos))
	if err := s.readPayloads(p[:n], pos); err != nil {
		return 0, err
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// listView is the records a tag query yields. It learns them in order and
// keeps, per record, its span in payloads and its end in the view.
type listView struct {
	s  *Stream
	it recordIter

	mu    sync.Mutex
	recs  []int64 // GUARDED_BY(mu): the records found so far
	spans []span  // GUARDED_BY(mu): their spans in payloads
	ends  []int64 // GUARDED_BY(mu): ends[k] = view bytes up to and including spans[k]
	next  int64   // GUARDED_BY(mu): the next record to look for
	final bool    // GUARDED_BY(mu)
}

type span struct{ start, stop int64 }

func (v *listView) size() int64 {
	if len(v.ends) == 0 {
		return 0
	}
	return v.ends[len(v.ends)-1]
}

func (v *listView) Size() (int64, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.refresh(); err != nil {
		return 0, err
	}
	return v.size(), nil
}

func (v *listView) refresh() error {
	if v.final {
		return nil
	}
	count, err := v.s.Count()
	if err != nil {
		return err
	}
	v.it.setLimit(count)
	// The records' tuples are read through a window of offsets.
	offsets := v.s.window(v.s.offsets, OffsetsFile, count*v.s.width)
	defer offsets.close()
	var tuples [2 * wordSize]byte
	for {
		rec, ok, err := v.it.seek(v.next)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		var start, stop int64
		if rec > 0 {
			// end(rec-1) and end(rec): the last word of one tuple and the
			// first of the next.
			b := tuples[:]
			if err := offsets.readAt(b[:wordSize], (rec-1)*v.s.width); err != nil {
				return err
			}
			if err := offsets.readAt(b[wordSize:], rec*v.s.width); err != nil {
				return err
			}
			start, stop = word(b), word(b[wordSize:])
		} else if stop, err = v.s.end(0); err != nil {
			return err
		}
		if err := v.s.checkSpan(rec, rec, start, stop); err != nil {
			return err
		}
		v.recs = append(v.recs, rec)
		v.spans = append(v.spans, span{start, stop})
		v.ends = append(v.ends, v.size()+stop-start)
		v.next = rec + 1
	}
	v.final = !v.s.live
	return nil
}

func (v *listView) Boundary(off int64) (int64, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if off <= 0 {
		return 0, nil
	}
	k := sort.Search(len(v.ends), func(k int) bool { return v.ends[k] >= off })
	if k == len(v.ends) {
		return v.size(), nil
	}
	return v.ends[k], nil
}

func (v *listView) Final() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.final
}

func (v *listView) Scan(from int64, fn func(int64, *Payload) error) (int64, error) {
	v.mu.Lock()
	k, _ := slices.BinarySearch(v.recs, from)
	recs, spans := v.recs[k:], v.spans[k:]
	v.mu.Unlock()
	var buf []byte
	p := &Payload{s: v.s}
	payloads := v.s.window(v.s.payloads, PayloadsFile, v.s.knownEnd.Load())
	defer payloads.close()
	for i, rec := range recs {
		sp := spans[i]
		*p = Payload{s: v.s, rec: rec, start: sp.start, end: sp.stop}
		if sp.stop-sp.start <= maxInline {
			buf = slices.Grow(buf[:0], int(sp.stop-sp.start))[:sp.stop-sp.start]
			if err := payloads.readAt(buf, sp.start); err != nil {
				return rec, err
			}
			p.buf = buf
		}
		if err := fn(rec, p); err != nil {
			return rec, err
		}
		from = rec + 1
	}
	return from, nil
}

func (v *listView) ReadAt(p []byte, off int64) (int, error) {
	v.mu.Lock()
	if off+int64(len(p)) > v.size() {
		if err := v.refresh(); err != nil {
			v.mu.Unlock()
			return 0, err
		}
	}
	k := sort.Search(len(v.ends), func(k int) bool { return v.ends[k] > off })
	// Copy out the spans needed, so reading happens without the lock.
	var spans []span
	for need := off + int64(len(p)); k < len(v.spans); k++ {
		sp := v.spans[k]
		if len(spans) == 0 {
			sp.start = sp.stop - (v.ends[k] - off)
		}
		spans = append(spans, sp)
		if v.ends[k] >= need {
			break
		}
	}
	v.mu.Unlock()
	payloads := v.s.window(v.s.payloads, PayloadsFile, v.s.knownEnd.Load())
	defer payloads.close()
	n := 0
	for _, sp := range spans {
		m := int(min(int64(len(p)-n), sp.stop-sp.start))
		if err := payloads.readAt(p[n:n+m], sp.start); err != nil {
			return n, err
		}
		n += m
		if n == len(p) {
			return n, nil
		}
	}
	return n, io.EOF
}
