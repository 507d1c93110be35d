package store

import (
	"io"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// payloadBuf holds the payloads of pending records, in order, as segments
// written with one pwritev. A large Batch's buffer becomes a segment as it
// is, so that committing it copies nothing; the Batch gets a spare
// segment in exchange.
type payloadBuf struct {
	segs  [][]byte
	size  int      // bytes in segs
	spare [][]byte // emptied segments, for reuse
	iovs  [][]byte // scratch for writeAt
}

// takeMin is the size from which a Batch's payloads are taken whole rather
// than copied. Below it the copy is cheap, and the Batch keeps a buffer
// that stays in cache; measured, taking 10 KB batches was slower.
const takeMin = 16 << 10

// grow makes room for n more bytes in the last segment.
func (p *payloadBuf) grow(n int) {
	if len(p.segs) == 0 {
		p.segs = append(p.segs, p.spareSeg())
	}
	p.segs[len(p.segs)-1] = slices.Grow(p.segs[len(p.segs)-1], n)
}

func (p *payloadBuf) write(b []byte) {
	if len(p.segs) == 0 {
		p.segs = append(p.segs, p.spareSeg())
	}
	last := &p.segs[len(p.segs)-1]
	*last = append(*last, b...)
	p.size += len(b)
}

// take adds b to the buffer, as a segment of its own if it is large, and
// returns an empty buffer for the caller to use instead of b.
func (p *payloadBuf) take(b []byte) []byte {
	if len(b) < takeMin {
		p.write(b)
		return b[:0]
	}
	p.segs = append(p.segs, b)
	p.size += len(b)
	return p.spareSeg()
}

func (p *payloadBuf) spareSeg() []byte {
	if n := len(p.spare); n > 0 {
		seg := p.spare[n-1]
		p.spare = p.spare[:n-1]
		return seg
	}
	return nil
}

// A bufMark is how far a payloadBuf went, to cut back to.
type bufMark struct{ segs, last, size int }

func (p *payloadBuf) mark() bufMark {
	m := bufMark{segs: len(p.segs), size: p.size}
	if m.segs > 0 {
		m.last = len(p.segs[m.segs-1])
	}
	return m
}

// cut drops what was written after m.
func (p *payloadBuf) cut(m bufMark) {
	clear(p.segs[m.segs:])
	p.segs = p.segs[:m.segs]
	if m.segs > 0 {
		p.segs[m.segs-1] = p.segs[m.segs-1][:m.last]
	}
	p.size = m.size
}

// reset empties the buffer and keeps its segments for reuse.
func (p *payloadBuf) reset() {
	for _, seg := range p.segs {
		p.spare = append(p.spare, seg[:0])
	}
	clear(p.segs)
	p.segs, p.size = p.segs[:0], 0
}

// writeAt writes the buffer to f at off.
func (p *payloadBuf) writeAt(f *os.File, off int64) error {
	if len(p.segs) == 1 {
		_, err := f.WriteAt(p.segs[0], off)
		return err
	}
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	iovs := append(p.iovs[:0], p.segs...)
	defer func() { p.iovs = iovs[:0] }()
	for len(iovs) > 0 {
		var n int
		var werr error
		err := conn.Write(func(fd uintptr) bool {
			n, werr = ignoringEINTR(func() (int, error) {
				return unix.Pwritev(int(fd), iovs[:min(len(iovs), maxIovecs)], off)
			})
			return true
		})
		switch {
		case err != nil:
			return err
		case werr != nil:
			return &os.PathError{Op: "pwritev", Path: f.Name(), Err: werr}
		case n == 0:
			return &os.PathError{Op: "pwritev", Path: f.Name(), Err: io.ErrShortWrite}
		}
		off += int64(n)
		for len(iovs) > 0 && n >= len(iovs[0]) {
			n -= len(iovs[0])
			iovs = iovs[1:]
		}
		if n > 0 {
			iovs[0] = iovs[0][n:]
		}
	}
	return nil
}

// maxIovecs is IOV_MAX on Linux.
const maxIovecs = 1024

func ignoringEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != unix.EINTR {
			return n, err
		}
	}
}
