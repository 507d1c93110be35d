package store

import (
	"fmt"
	"math"
	"sync"
)

// franz's writer lets an index's values decrease, franzfs's never does. A
// range on a sorted index is found by binary search; on any other, by
// reading the index's values (valueIter). Which one is known by reading
// every tuple once per Stream: a scan that only ever reads the records
// added since the last.

// sortedness is what the scan found so far.
type sortedness struct {
	mu       sync.Mutex
	through  int64   // GUARDED_BY(mu): records scanned
	last     []int64 // GUARDED_BY(mu): their last values, per index
	unsorted []bool  // GUARDED_BY(mu): per index, a value decreased
}

// IndexSorted reports whether the values of index idx never decrease over
// the first count records.
func (s *Stream) IndexSorted(idx int, count int64) (bool, error) {
	if idx < 0 || idx >= len(s.indices) {
		return false, fmt.Errorf("stream %s: index number %d: %w", s.name, idx, ErrNotFound)
	}
	o := &s.sortedness
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.through < count {
		if err := s.scanSortedness(count); err != nil {
			return false, err
		}
	}
	return !o.unsorted[idx], nil
}

// scanSortedness reads the tuples of records [through, count). o.mu is
// held.
func (s *Stream) scanSortedness(count int64) error {
	o := &s.sortedness
	if o.last == nil {
		o.last = make([]int64, len(s.indices))
		o.unsorted = make([]bool, len(s.indices))
	}
	// In runs of tuples: a read per tuple would cost ten times the scan.
	buf := make([]byte, min(count-o.through, valueRun)*s.width)
	for rec := o.through; rec < count; {
		run := min(count-rec, valueRun)
		tuples := buf[:run*s.width]
		if err := s.readWords(tuples, rec*s.width); err != nil {
			return err
		}
		for t := 0; t < len(tuples); t += int(s.width) {
			for k := range s.indices {
				v := word(tuples[t+wordSize*(1+k):])
				if rec > 0 && v < o.last[k] {
					o.unsorted[k] = true
				}
				o.last[k] = v
			}
			rec++
		}
	}
	o.through = count
	return nil
}

// valueIter yields the records whose value of an index lies in [from, to],
// reading the values in runs: a range on an index that is not sorted.
type valueIter struct {
	s        *Stream
	idx      int
	from, to int64
	limit    int64

	buf []byte // tuples of records [at, at+len(buf)/width)
	at  int64
}

// valueRun is how many tuples one read of a valueIter brings in.
const valueRun = 4096

func (s *Stream) valueIter(idx int, from, to Bound) *valueIter {
	it := &valueIter{s: s, idx: idx, from: from.V, to: to.V}
	if !from.Set {
		it.from = math.MinInt64
	}
	if !to.Set {
		it.to = math.MaxInt64
	}
	return it
}

func (it *valueIter) setLimit(limit int64) { it.limit = limit }

func (it *valueIter) seek(x int64) (int64, bool, error) {
	s := it.s
	at := int64(wordSize * (1 + it.idx))
	for rec := max(x, 0); rec < it.limit; rec++ {
		k := rec - it.at
		if k < 0 || (k+1)*s.width > int64(len(it.buf)) {
			n := min(valueRun, it.limit-rec) * s.width
			if int64(cap(it.buf)) < n {
				it.buf = make([]byte, n)
			}
			it.buf = it.buf[:n]
			if err := s.readWords(it.buf, rec*s.width); err != nil {
				return 0, false, err
			}
			it.at, k = rec, 0
		}
		if v := word(it.buf[k*s.width+at:]); v >= it.from && v <= it.to {
			return rec, true, nil
		}
	}
	return 0, false, nil
}

// IndexStart returns the first of the first count records whose value of
// index idx is at least x, or count if there is none: where a range [x, ...]
// starts. On an index that is not sorted it reads the values.
func (s *Stream) IndexStart(idx int, x, count int64) (int64, error) {
	sorted, err := s.IndexSorted(idx, count)
	if err != nil || sorted {
		pos, _, err := s.searchIndex(idx, x, 0, count)
		return pos, err
	}
	it := s.valueIter(idx, Bound{V: x, Set: true}, Bound{})
	it.setLimit(count)
	rec, ok, err := it.seek(0)
	if !ok {
		rec = count
	}
	return rec, err
}

// IndexEnd returns the last of the first count records whose value of
// index idx is at most y, or -1 if there is none: where a range [..., y]
// ends.
func (s *Stream) IndexEnd(idx int, y, count int64) (int64, error) {
	sorted, err := s.IndexSorted(idx, count)
	if err != nil {
		return 0, err
	}
	if sorted {
		if y == math.MaxInt64 {
			return count - 1, nil
		}
		pos, _, err := s.searchIndex(idx, y+1, 0, count)
		return pos - 1, err
	}
	it := s.valueIter(idx, Bound{}, Bound{V: y, Set: true})
	it.setLimit(count)
	last := int64(-1)
	for {
		rec, ok, err := it.seek(last + 1)
		if err != nil || !ok {
			return last, err
		}
		last = rec
	}
}
