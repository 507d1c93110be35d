package store

import (
	"fmt"
	"io"
	"math"
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
