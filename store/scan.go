package store

import (
	"bufio"
	"io"
)

// scanBytes is how much of offsets one read brings in while scanning: a
// number of tuples that depends on their width, so that a stream of many
// indices costs no more memory.
const scanBytes = 64 << 10

// scanRange calls fn for records first..end-1 in order, reading offsets
// and payloads sequentially in large blocks. The Payload is reused between
// calls; records over maxInline are left in payloads for fn to copy out.
func (s *Stream) scanRange(first, end int64, fn func(rec int64, p *Payload) error) error {
	if first >= end {
		return nil
	}
	start, stop, err := s.Span(first, end-1)
	if err != nil {
		return err
	}
	// Buffers sized to the range: a multiget scans many short ones.
	payloads := bufio.NewReaderSize(io.NewSectionReader(s.payloads, start, stop-start), int(min(maxInline, stop-start)))
	chunk := min(max(1, scanBytes/s.width), end-first)
	tuples := make([]byte, chunk*s.width)
	p := &Payload{s: s}
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
			*p = Payload{s: s, rec: at + k, start: pos, end: e}
			if e-pos <= maxInline {
				// In the reader's buffer, not copied: valid during fn.
				b, err := payloads.Peek(int(e - pos))
				if err != nil {
					if rerr := s.readPayloads(make([]byte, e-pos), pos); rerr != nil {
						return rerr // it names the file and the byte
					}
					return err
				}
				payloads.Discard(len(b))
				p.buf = b
			} else {
				// Left where it is: reading goes on after it.
				payloads.Reset(io.NewSectionReader(s.payloads, e, stop-e))
			}
			pos = e
			if err := fn(at+k, p); err != nil {
				return err
			}
		}
	}
	return nil
}
