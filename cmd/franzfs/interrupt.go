package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// interrupted is why a command's context ends on Ctrl-C or SIGTERM.
type interrupted struct{ sig syscall.Signal }

func (e interrupted) Error() string { return "interrupted (" + e.sig.String() + ")" }

// exitCode is what a shell expects of a process a signal stopped.
func (e interrupted) exitCode() int { return 128 + int(e.sig) }

// signalContext ends on Ctrl-C or SIGTERM, with interrupted as its cause.
// Commands that run until a signal (serve, mount, forward, read --follow)
// return nil then; any other command that stops short exits 130 or 143.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		if sig, ok := <-sigs; ok {
			cancel(interrupted{sig.(syscall.Signal)})
		}
	}()
	return ctx, func() { signal.Stop(sigs); cancel(nil) }
}

// interruptible reads r until ctx ends, then fails at once with ctx's
// error: a read of a terminal or a pipe blocks where nothing else can stop
// it. A read blocked in r is left behind; the process is about to exit.
func interruptible(ctx context.Context, r io.Reader) io.Reader {
	c := &chunkReader{ctx: ctx, full: make(chan chunk, 1), free: make(chan []byte, 3)}
	for range cap(c.free) {
		c.free <- make([]byte, 1<<20)
	}
	go func() {
		for {
			var buf []byte
			select {
			case buf = <-c.free:
			case <-ctx.Done():
				return
			}
			n, err := r.Read(buf)
			select {
			case c.full <- chunk{buf, buf[:n], err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return c
}

// A chunk is what one read of the source brought: rest is what is left
// of it to hand on, buf the buffer to give back.
type chunk struct {
	buf, rest []byte
	err       error
}

// chunkReader hands on the chunks of a reading goroutine, whose buffers go
// round between the two.
type chunkReader struct {
	ctx  context.Context
	full chan chunk
	free chan []byte
	cur  chunk
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.cur.rest) == 0 && c.cur.err == nil {
		if c.cur.buf != nil {
			c.free <- c.cur.buf
		}
		select {
		case c.cur = <-c.full:
		case <-c.ctx.Done():
			return 0, c.ctx.Err()
		}
	}
	if len(c.cur.rest) == 0 {
		return 0, c.cur.err
	}
	n := copy(p, c.cur.rest)
	c.cur.rest = c.cur.rest[n:]
	return n, nil
}
