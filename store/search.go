package store

import (
	"fmt"
	"sync"
)

// Index search is a binary search over the offsets tuples. To keep it to one
// read of the disk per lookup, records are grouped in blocks of searchBlock:
// the first value of each block probed is cached (values of a written record
// never change), and the final block is read whole and searched in memory.
const searchBlock = 128

type blockKey struct {
	index int
	block int64
}

// blockCache holds the first index values of search blocks.
type blockCache struct {
	mu     sync.RWMutex
	values map[blockKey]int64 // GUARDED_BY(mu)
}

// blockFirst returns the value of index idx at the first record of block b.
func (s *Stream) blockFirst(idx int, b int64) (int64, error) {
	key := blockKey{idx, b}
	s.blocks.mu.RLock()
	v, ok := s.blocks.values[key]
	s.blocks.mu.RUnlock()
	if ok {
		return v, nil
	}
	var buf [wordSize]byte
	if err := s.readWords(buf[:], b*searchBlock*s.width+wordSize*int64(1+idx)); err != nil {
		return 0, err
	}
	v = word(buf[:])
	s.blocks.mu.Lock()
	if s.blocks.values == nil {
		s.blocks.values = map[blockKey]int64{}
	}
	s.blocks.values[key] = v
	s.blocks.mu.Unlock()
	return v, nil
}

var blockBufs = sync.Pool{New: func() any { return new([]byte) }}

// SearchIndex returns the first of the first count records whose value of
// index idx is at least x, or count if there is none. Values never decrease,
// so this is where a range [x, ...] starts; a range [..., y] ends before
// SearchIndex(idx, y+1, count).
func (s *Stream) SearchIndex(idx int, x int64, count int64) (int64, error) {
	pos, _, err := s.searchIndex(idx, x, 0, count)
	return pos, err
}

// searchIndex is SearchIndex over records [lo, count), which must hold the
// answer; it also returns end(pos-1), the payloads offset where record pos
// starts, read from the same block.
func (s *Stream) searchIndex(idx int, x, lo, count int64) (pos, start int64, err error) {
	if idx < 0 || idx >= len(s.indices) {
		return 0, 0, fmt.Errorf("stream %s: index number %d: %w", s.name, idx, ErrNotFound)
	}
	if count <= 0 {
		return 0, 0, nil
	}
	blocks := (count + searchBlock - 1) / searchBlock
	// The first block b whose first value is >= x; the answer lies in
	// block b-1 or is b's first record.
	b, err := s.searchRecords(max(1, lo/searchBlock+1), blocks, func(b int64) (bool, error) {
		v, err := s.blockFirst(idx, b)
		return v >= x, err
	})
	if err != nil {
		return 0, 0, err
	}
	first := (b - 1) * searchBlock
	last := min(b*searchBlock, count) // exclusive
	bp := blockBufs.Get().(*[]byte)
	defer blockBufs.Put(bp)
	if need := int((last - first) * s.width); cap(*bp) < need {
		*bp = make([]byte, need)
	}
	buf := (*bp)[:(last-first)*s.width]
	if err := s.readWords(buf, first*s.width); err != nil {
		return 0, 0, err
	}
	at := int64(wordSize * (1 + idx))
	i, j := 0, int(last-first)
	for i < j {
		mid := int(uint(i+j) >> 1)
		if word(buf[int64(mid)*s.width+at:]) >= x {
			j = mid
		} else {
			i = mid + 1
		}
	}
	pos = first + int64(i)
	if i > 0 {
		start = word(buf[int64(i-1)*s.width:])
	} else if start, err = s.end(pos - 1); err != nil {
		return 0, 0, err
	}
	return pos, start, nil
}
