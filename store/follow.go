package store

import (
	"context"
	"io"
	"sync"
)

// A Follower reads a stream's payloads from a record on, waiting for new
// records at the end: the view behind the endless follow file.
type Follower struct {
	s *Stream

	mu    sync.Mutex
	pos   int64 // GUARDED_BY(mu): next byte of payloads to return
	count int64 // GUARDED_BY(mu): records known when pos was last checked
}

// Follow starts a Follower at the end of the stream.
func (s *Stream) Follow() (*Follower, error) {
	count, err := s.Count()
	if err != nil {
		return nil, err
	}
	return s.FollowFrom(count)
}

// FollowFrom starts a Follower at record first, which may lie in the future.
func (s *Stream) FollowFrom(first int64) (*Follower, error) {
	count, err := s.Count()
	if err != nil {
		return nil, err
	}
	f := &Follower{s: s, count: first}
	if first <= count {
		if f.pos, err = s.end(first - 1); err != nil {
			return nil, err
		}
	} else {
		f.pos = -1 // the start is found once record first-1 exists
	}
	return f, nil
}

// Read returns the next bytes of whole records, waiting until there are
// some; io.EOF once the stream cannot grow (archived, or deleted).
func (f *Follower) Read(ctx context.Context, p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		count, err := f.s.Count()
		if err != nil {
			return 0, err
		}
		if f.pos < 0 && count >= f.count {
			if f.pos, err = f.s.end(f.count - 1); err != nil {
				return 0, err
			}
		}
		if f.pos >= 0 {
			stop, err := f.s.end(count - 1)
			if err != nil {
				return 0, err
			}
			if stop > f.pos {
				n := int(min(int64(len(p)), stop-f.pos))
				if err := f.s.readPayloads(p[:n], f.pos); err != nil {
					return 0, err
				}
				f.pos += int64(n)
				return n, nil
			}
		}
		if _, err := f.s.Wait(ctx, count); err != nil {
			return 0, err
		}
	}
}

// ScanFollow calls emit for each record of view v from record from on,
// and with follow keeps waiting for new ones until v is complete or ctx
// is done. flush is called whenever it waits.
func (s *Stream) ScanFollow(ctx context.Context, v View, from int64, follow bool, emit func(rec int64, p *Payload) error, flush func() error) error {
	for next := from; ; {
		count, err := s.Count()
		if err != nil {
			return err
		}
		if _, err := v.Size(); err != nil {
			return err
		}
		if next, err = v.Scan(next, emit); err != nil {
			return err
		}
		if err := flush(); err != nil {
			return err
		}
		if !follow || v.Final() {
			return nil
		}
		if _, err := s.Wait(ctx, count); err != nil {
			if err == io.EOF {
				return nil // it will not grow: all there is was emitted
			}
			return err
		}
	}
}
