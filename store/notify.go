package store

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// pollInterval is how often a live stream is looked at when no inotify
// event arrives: on NFS, or when another host writes.
const pollInterval = 100 * time.Millisecond

// notifier wakes waiters when a live stream may have grown: on an inotify
// write to offsets, and on every poll tick.
type notifier struct {
	mu      sync.Mutex
	changed chan struct{} // GUARDED_BY(mu): closed and replaced on each wake
	done    chan struct{}
}

func startNotifier(dir string, inotify bool) *notifier {
	n := &notifier{changed: make(chan struct{}), done: make(chan struct{})}
	var events chan fsnotify.Event
	var w *fsnotify.Watcher
	if inotify {
		var err error
		if w, err = fsnotify.NewWatcher(); err == nil {
			err = w.Add(filepath.Join(dir, OffsetsFile))
		}
		if err != nil {
			slog.Debug("no inotify for stream, polling", "stream", dir, "err", err)
		} else {
			events = w.Events
		}
	}
	go func() {
		tick := time.NewTicker(pollInterval)
		defer tick.Stop()
		if w != nil {
			defer w.Close()
		}
		for {
			select {
			case <-events:
			case <-tick.C:
			case <-n.done:
				return
			}
			n.wake()
		}
	}()
	return n
}

func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.changed
}

func (n *notifier) wake() {
	n.mu.Lock()
	close(n.changed)
	n.changed = make(chan struct{})
	n.mu.Unlock()
}

func (n *notifier) stop() { close(n.done) }

// Wait blocks until the stream has more than n records, or ctx is done.
// It returns io.EOF once the stream cannot grow: it is archived, or it was
// deleted (a stream made anew under its name is another stream).
func (s *Stream) Wait(ctx context.Context, n int64) (int64, error) {
	var changed func() <-chan struct{}
	if s.live {
		s.mu.Lock()
		if s.notify == nil && !s.closed {
			s.notify = startNotifier(s.dir, s.dir != "")
		}
		nt := s.notify
		s.mu.Unlock()
		if nt != nil {
			changed = nt.wait
		}
	}
	for {
		var ch <-chan struct{}
		if changed != nil {
			ch = changed() // before counting, so no wake is missed
		}
		count, err := s.Count()
		if err != nil || count > n {
			return count, err
		}
		if !s.live || s.Deleted() {
			return count, io.EOF
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return count, ctx.Err()
		}
	}
}
