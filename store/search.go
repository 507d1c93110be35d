package store

import "fmt"

// Index search is a binary search over the offsets tuples. To keep it to one
// read of the disk per lookup, records are grouped in blocks of searchBlock:
// the first value of each block probed is cached (values of a written record
// never change), and the final block is read whole and searched in memory.
const searchBlock = 256

type blockKey struct {
	index int
	block int64
}

// blockFirst returns the value of index idx at the first record of block b.
func (s *Stream) blockFirst(idx int, b int64) (int64, error) {
	key := blockKey{idx, b}
	s.mu.Lock()
	v, ok := s.blocks[key]
	s.mu.Unlock()
	if ok {
		return v, nil
	}
	var buf [wordSize]byte
	if err := s.readWords(buf[:], b*searchBlock*s.width+wordSize*int64(1+idx)); err != nil {
		return 0, err
	}
	v = word(buf[:])
	s.mu.Lock()
	s.blocks[key] = v
	s.mu.Unlock()
	return v, nil
}

// SearchIndex returns the first of the first count records whose value of
// index idx is at least x, or count if there is none. Values never decrease,
// so this is where a range [x, ...] starts; a range [..., y] ends before
// SearchIndex(idx, y+1, count).
func (s *Stream) SearchIndex(idx int, x int64, count int64) (int64, error) {
	if idx < 0 || idx >= len(s.indices) {
		return 0, fmt.Errorf("stream %s: index number %d: %w", s.name, idx, ErrNotFound)
	}
	if count <= 0 {
		return 0, nil
	}
	blocks := (count + searchBlock - 1) / searchBlock
	// The first block b >= 1 whose first value is >= x; the answer lies in
	// block b-1 or is b's first record.
	b, err := s.searchRecords(1, blocks, func(b int64) (bool, error) {
		v, err := s.blockFirst(idx, b)
		return v >= x, err
	})
	if err != nil {
		return 0, err
	}
	first := (b - 1) * searchBlock
	last := min(b*searchBlock, count) // exclusive
	buf := make([]byte, (last-first)*s.width)
	if err := s.readWords(buf, first*s.width); err != nil {
		return 0, err
	}
	at := wordSize * (1 + idx)
	lo, hi := 0, int(last-first)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if word(buf[int64(mid)*s.width+int64(at):]) >= x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return first + int64(lo), nil
}
