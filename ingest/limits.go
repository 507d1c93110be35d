package ingest

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Limits on what clients may hold of the daemon (SPEC section 6), each a
// flag of franzfs serve with these defaults.
const (
	// DefaultMaxConns bounds open connections; past it the longest idle
	// one is closed, or the new one if none is idle.
	DefaultMaxConns = 1024
	// DefaultIdleTimeout closes a keep-alive connection with no request.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultHeaderTimeout bounds reading a request's headers.
	DefaultHeaderTimeout = 10 * time.Second
	// DefaultBodyTimeout bounds reading a request's body: a client that
	// sends a byte a second gets 408, not a thread and a buffer forever.
	DefaultBodyTimeout = time.Minute
	// DefaultBodyMemory bounds the bytes of request bodies held at once;
	// past it appends get 503 with Retry-After.
	DefaultBodyMemory = 1 << 30
	// DefaultMaxWriters bounds the streams held open for appending (each
	// a few descriptors); past it the one idle the longest is closed.
	DefaultMaxWriters = 256
	// DefaultMaxRequestTags bounds the distinct tags of one request: a
	// flush holds each one's file open until it is on disk.
	DefaultMaxRequestTags = 1024
)

// LimitConns keeps at most max connections open on hs: a new one past it
// closes the connection idle the longest, or, with none idle, itself.
func LimitConns(hs *http.Server, max int) {
	l := &connLimit{max: max, idle: map[net.Conn]time.Time{}, open: map[net.Conn]bool{}}
	prev := hs.ConnState
	hs.ConnState = func(c net.Conn, st http.ConnState) {
		l.track(c, st)
		if prev != nil {
			prev(c, st)
		}
	}
}

type connLimit struct {
	max  int
	mu   sync.Mutex
	open map[net.Conn]bool      // GUARDED_BY(mu)
	idle map[net.Conn]time.Time // GUARDED_BY(mu): since when
}

func (l *connLimit) track(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch st {
	case http.StateNew:
		l.open[c] = true
		if len(l.open) > l.max {
			victim := c
			var since time.Time
			for ic, t := range l.idle {
				if victim == c || t.Before(since) {
					victim, since = ic, t
				}
			}
			// Forgotten now, not when StateClosed comes: a victim closed
			// but still counted would be chosen again, and spare another.
			delete(l.open, victim)
			delete(l.idle, victim)
			victim.Close()
		}
	case http.StateIdle:
		l.idle[c] = time.Now()
	case http.StateActive:
		delete(l.idle, c)
	case http.StateClosed, http.StateHijacked:
		delete(l.open, c)
		delete(l.idle, c)
	}
}

// budget bounds the bytes of request bodies held at once.
type budget struct {
	mu   sync.Mutex
	left int64 // GUARDED_BY(mu)
}

// take reserves n bytes, or reports that they are not there now.
func (b *budget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.left {
		return false
	}
	b.left -= n
	return true
}

func (b *budget) give(n int64) {
	b.mu.Lock()
	b.left += n
	b.mu.Unlock()
}
