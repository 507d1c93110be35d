package store

import (
	"bufio"
	"io"
	"slices"
)

// scanChunk is how many tuples one read of offsets brings in while scanning.
const scanChunk = 4096

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
	tuples := make([]byte, scanChunk*s.width)
	var payload []byte
	pos := start
	for at := first; at < end; at += scanChunk {
		n := min(scanChunk, end-at)
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
