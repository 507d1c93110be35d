package store

import (
	"bufio"
	"io"
	"slices"
)

// scanBytes is how much of offsets one read brings in while scanning: a
// number of tuples that depends on their width, so that a stream of many
// indices costs no more memory.
const scanBytes = 64 << 10

// scanRange calls fn for records first..end-1 in order, reading offsets
// and payloads sequentially in large blocks. payload is reused between calls.
func (s *Stream) scanRange(first, end int64, fn func(rec int64, payload []byte) error) error {
	if first >= end {
		return nil
	}
	start, stop, err := s.Span(first, end-1)
	if err != nil {
		return err
	}
	payloads := bufio.NewReaderSize(io.NewSectionReader(s.payloads, start, stop-start), 1<<20)
	chunk := max(1, scanBytes/s.width)
	tuples := make([]byte, chunk*s.width)
	var payload []byte
	pos := start
	for at := first; at < end; at += chunk {
		n := min(chunk, end-at)
		if err := s.readWords(tuples[:n*s.width], at*s.width); err != nil {
			return err
		}
		for k := range n {
			e := word(tuples[k*s.width:])
			if e < pos || e > stop {
				_, _, err := s.Span(at+k, at+k) // names the corrupt record
				return err
			}
			payload = slices.Grow(payload[:0], int(e-pos))[:e-pos]
			if _, err := io.ReadFull(payloads, payload); err != nil {
				return s.readPayloads(payload, pos)
			}
			pos = e
			if err := fn(at+k, payload); err != nil {
				return err
			}
		}
	}
	return nil
}
