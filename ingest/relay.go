package ingest

import (
	"io"
	"sync"
	"sync/atomic"
)

// A relay hands what a scan writes to a goroutine of its own, which sends
// it to the client: reading and framing records and sending them then run
// on two cores, where one after the other they took twice as long.
type relay struct {
	full    chan relayed
	free    chan []byte
	buf     []byte
	err     atomic.Pointer[error] // the first write to the client that failed
	done    chan struct{}         // closed once the sender has ended
	closing sync.Once
}

// relayed is a buffer to send, or a flush after what came before.
type relayed struct {
	b     []byte
	flush bool
}

const (
	relayBuffer  = 256 << 10
	relayBuffers = 4
)

// newRelay starts the sender: it writes to w, and calls flush when asked.
func newRelay(w io.Writer, flush func()) *relay {
	r := &relay{full: make(chan relayed, relayBuffers), free: make(chan []byte, relayBuffers), done: make(chan struct{})}
	for range relayBuffers - 1 {
		r.free <- make([]byte, 0, relayBuffer)
	}
	r.buf = make([]byte, 0, relayBuffer)
	go func() {
		defer close(r.done)
		for m := range r.full {
			if r.err.Load() == nil {
				if _, err := w.Write(m.b); err != nil {
					r.err.Store(&err)
				} else if m.flush {
					flush()
				}
			}
			r.free <- m.b[:0]
		}
	}()
	return r
}

// Write keeps p for the sender; it fails once a send has failed.
func (r *relay) Write(p []byte) (int, error) {
	if err := r.err.Load(); err != nil {
		return 0, *err
	}
	n := len(p)
	for len(p) > 0 {
		k := copy(r.buf[len(r.buf):cap(r.buf)], p)
		r.buf, p = r.buf[:len(r.buf)+k], p[k:]
		if len(r.buf) == cap(r.buf) {
			r.handOver(false)
		}
	}
	return n, nil
}

// AvailableBuffer returns an empty buffer whose capacity is the space
// left in the one kept, to append to in place and then write, as with
// bufio.Writer.
func (r *relay) AvailableBuffer() []byte { return r.buf[len(r.buf):len(r.buf)] }

func (r *relay) handOver(flush bool) {
	r.full <- relayed{r.buf, flush}
	r.buf = <-r.free
}

// Flush hands over what is kept, for the sender to send and flush.
func (r *relay) Flush() error {
	r.handOver(true)
	if err := r.err.Load(); err != nil {
		return *err
	}
	return nil
}

// Close sends what is kept and waits for the sender to end. Calls after
// the first only report its error.
func (r *relay) Close() error {
	r.closing.Do(func() {
		if len(r.buf) > 0 {
			r.full <- relayed{b: r.buf}
		}
		close(r.full)
		<-r.done
	})
	if err := r.err.Load(); err != nil {
		return *err
	}
	return nil
}
