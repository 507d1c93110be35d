package store

import (
	"fmt"
	"sync"
)

// windowSize is how much of a file one read brings in for reads that come
// close together in ascending order, as a tag's records do: at one record
// in ten of 100 B, one read serves about 65 records instead of one.
const windowSize = 64 << 10

var windows = sync.Pool{New: func() any { b := make([]byte, windowSize); return &b }}

// A window reads a stream file through a copy of one stretch of it. It
// trusts only bytes below limit, those of records visible when it was
// made: bytes past them may still be being written.
type window struct {
	s     *Stream
	f     File
	name  string
	limit int64
	buf   *[]byte
	data  []byte // the file's bytes [at, at+len(data))
	at    int64
	next  int64 // where the last read ended
}

func (s *Stream) window(f File, name string, limit int64) *window {
	return &window{s: s, f: f, name: name, limit: limit, next: -windowSize}
}

// readAt fills p with the file's bytes at off, all below the limit.
func (w *window) readAt(p []byte, off int64) error {
	end := off + int64(len(p))
	// Only reads that follow closely on the last one are worth a window:
	// a list's records scattered over the stream are read one by one.
	near := off >= w.next && off-w.next < windowSize/2
	w.next = end
	if w.s.mapOf(w.f) != nil && end <= w.limit {
		return w.s.readFull(w.f, w.name, p, off) // a copy from memory: no window needed
	}
	if off >= w.at && end <= w.at+int64(len(w.data)) {
		copy(p, w.data[off-w.at:])
		return nil
	}
	if !near || len(p) > windowSize/2 || end > w.limit {
		return w.s.readFull(w.f, w.name, p, off)
	}
	if w.buf == nil {
		w.buf = windows.Get().(*[]byte)
	}
	n := int(min(windowSize, w.limit-off))
	if err := w.s.readFull(w.f, w.name, (*w.buf)[:n], off); err != nil {
		w.data = nil
		return err
	}
	w.data, w.at = (*w.buf)[:n], off
	copy(p, w.data)
	return nil
}

// close gives the buffer back.
func (w *window) close() {
	if w.buf != nil {
		windows.Put(w.buf)
		w.buf, w.data = nil, nil
	}
}

// readEach reads n pieces of f, all below limit: piece i is the bytes at
// off into p, as piece(i) gives them. From a mapped file the reads are
// copies in one tight loop under one fault guard, so that the memory
// fetches of scattered pieces overlap; otherwise they go through a window.
func (s *Stream) readEach(f File, name string, limit int64, n int, piece func(i int) (p []byte, off int64)) error {
	if m := s.mapOf(f); m != nil {
		var err error
		at := int64(-1) // the read under way, for an error
		mapped, fault := m.within(limit, func(data []byte) {
			for i := range n {
				p, off := piece(i)
				switch at = off; {
				case off < 0 || off+int64(len(p)) > limit:
					err = fmt.Errorf("stream %s: %s: bytes %d to %d, not within the %d of visible records: %w", s.name, name, off, off+int64(len(p)), limit, ErrCorrupt)
					return
				case len(p) > mapRead:
					// A large read is a pread, so that its pages stay
					// out of the reader's memory.
					if err = s.readFull(f, name, p, off); err != nil {
						return
					}
				default:
					copy(p, data[off:])
				}
			}
		})
		if fault != nil {
			return fmt.Errorf("stream %s: %s at byte %d: %w: %w", s.name, name, at, ErrCorrupt, fault)
		}
		if mapped {
			return err
		}
	}
	w := s.window(f, name, limit)
	defer w.close()
	for i := range n {
		if err := w.readAt(piece(i)); err != nil {
			return err
		}
	}
	return nil
}
