package franzd

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"time"
)

// aLongTimeAgo is a deadline that has passed: it interrupts a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// A Client is a connection to a franzd (or franzfs) server, serving one
// directory. Many queries may be in flight; it is safe for concurrent use.
type Client struct {
	nc  net.Conn
	r   *bufio.Reader
	wmu sync.Mutex

	mu      sync.Mutex
	pending map[int64]chan frame // GUARDED_BY(mu)
	nextID  int64                // GUARDED_BY(mu)
	spare   []byte               // read's alone: a closed response's tuples, for the next
	err     error                // GUARDED_BY(mu): why the connection ended
	done    chan struct{}        // closed when the connection ends
}

// A frame is one answer to a request.
type frame struct {
	wait bool
	resp *Response
	err  error
}

// Dial connects to the server at addr (host:port) and names dir, the
// directory (or on the server's archive, the image) whose streams the
// connection reads.
func Dial(ctx context.Context, addr, dir string) (*Client, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &Client{nc: nc, r: bufio.NewReaderSize(nc, 64<<10), pending: map[int64]chan frame{}, nextID: 1, done: make(chan struct{})}
	if err := c.handshake(ctx, dir); err != nil {
		nc.Close()
		return nil, fmt.Errorf("franz://%s/%s: %w", addr, dir, err)
	}
	go c.read()
	return c, nil
}

func (c *Client) handshake(ctx context.Context, dir string) error {
	if deadline, ok := ctx.Deadline(); ok {
		c.nc.SetDeadline(deadline)
		defer c.nc.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(aLongTimeAgo) })
	defer stop()
	if _, err := c.nc.Write(appendBytes(nil, dir)); err != nil {
		return err
	}
	b, err := c.r.ReadByte()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("no answer to the handshake: %w", err)
	}
	if b == version {
		return nil
	}
	c.r.UnreadByte()
	f, id, err := c.frame()
	if err != nil || id != connectionID || f.err == nil {
		return fmt.Errorf("not a franzd server: handshake answered %#x", b)
	}
	return f.err
}

// Close ends the connection; queries in flight fail.
func (c *Client) Close() error {
	err := c.nc.Close()
	<-c.done
	return err
}

// read hands each frame to the query that waits for it.
func (c *Client) read() {
	var err error
	for {
		var f frame
		var id int64
		if f, id, err = c.frame(); err != nil {
			break
		}
		if id == connectionID && f.err != nil {
			err = f.err
			break
		}
		c.mu.Lock()
		ch := c.pending[id]
		c.mu.Unlock()
		switch {
		case ch != nil:
			ch <- f
		case f.resp != nil: // cancelled meanwhile
			f.resp.Close()
		}
		if f.resp != nil {
			<-f.resp.done // the body is read off the connection first
		}
	}
	c.mu.Lock()
	c.err = fmt.Errorf("connection ended: %w", err)
	for id, ch := range c.pending {
		select {
		case ch <- frame{err: c.err}:
		default: // it holds an answer already
		}
		delete(c.pending, id)
	}
	c.mu.Unlock()
	c.nc.Close()
	close(c.done)
}

// frame reads one ResponseHeader, and a Response's tuples.
func (c *Client) frame() (frame, int64, error) {
	d := decoder{c.r}
	tag, err := d.byte()
	if err != nil {
		return frame{}, 0, err
	}
	id, err := d.int()
	if err != nil {
		return frame{}, 0, err
	}
	switch tag {
	case tagWait:
		return frame{wait: true}, id, nil
	case tagError:
		e, err := d.exception()
		return frame{err: e}, id, err
	case tagResponse:
		h, err := d.header()
		if err != nil {
			return frame{}, id, err
		}
		resp := &Response{Header: h, done: make(chan struct{}), start: h.P0}
		n := h.Records()
		// In runs past 64 MiB: what a server claims is only believed as it
		// arrives.
		// The last response's buffer, if it is big enough: zeroing tens of
		// MB anew for each whole-stream answer costs more than reading it.
		if need := n * resp.width(); int64(cap(c.spare)) >= need {
			resp.tuples, c.spare = c.spare[:0], nil
		} else {
			resp.tuples = make([]byte, 0, min(need, 64<<20))
		}
		resp.client = c
		for left := n * resp.width(); left > 0; {
			run := min(left, 1<<20)
			resp.tuples = slices.Grow(resp.tuples, int(run))
			at := len(resp.tuples)
			if _, err := io.ReadFull(c.r, resp.tuples[at:at+int(run)]); err != nil {
				return frame{}, id, err
			}
			resp.tuples = resp.tuples[:at+int(run)]
			left -= run
		}
		size := int64(0)
		if n > 0 {
			size = resp.end(n-1) - h.P0
		}
		if size < 0 {
			return frame{}, id, fmt.Errorf("%w: a response whose payloads end before they start", errMalformed)
		}
		resp.body = io.LimitReader(c.r, size)
		return frame{resp: resp}, id, nil
	}
	return frame{}, id, fmt.Errorf("%w: ResponseHeader tag %d", errMalformed, tag)
}

// Query sends q and returns its answer: at once, or once it is ready if
// the server makes it wait (Waited then says so). If ctx ends first, the
// request is cancelled. The Response must be closed.
func (c *Client) Query(ctx context.Context, q Query) (*Response, error) {
	ch := make(chan frame, 2)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return nil, c.err
	}
	id := c.nextID
	c.nextID++
	c.pending[id] = ch
	c.mu.Unlock()
	if err := c.send(appendQuery(nil, id, q)); err != nil {
		c.forget(id)
		return nil, err
	}
	waited := false
	for {
		select {
		case f := <-ch:
			switch {
			case f.wait:
				waited = true
				continue
			case f.err != nil:
				c.forget(id)
				return nil, f.err
			}
			c.forget(id)
			f.resp.Waited = waited
			return f.resp, nil
		case <-ctx.Done():
			c.send(appendClean(nil, id))
			c.forget(id)
			// An answer may have crossed the cancel.
			for len(ch) > 0 {
				if f := <-ch; f.resp != nil {
					f.resp.Close()
				}
			}
			return nil, ctx.Err()
		}
	}
}

func (c *Client) forget(id int64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

func (c *Client) send(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(b)
	return err
}

// A Response is the records a query gave: read them with Next, then Close.
type Response struct {
	Header
	Waited bool // the server answered ResponseWait first

	tuples []byte
	client *Client // takes tuples back on Close
	body   io.Reader
	next   int64
	start  int64
	buf    []byte
	done   chan struct{}
	once   sync.Once
}

func (r *Response) width() int64 { return int64(8 * (1 + len(r.Indices))) }

// end is the end offset of the i-th record of the answer.
func (r *Response) end(i int64) int64 {
	return int64(binary.LittleEndian.Uint64(r.tuples[i*r.width():]))
}

// Value is the i-th record's value of index k.
func (r *Response) Value(i int64, k int) int64 {
	return int64(binary.LittleEndian.Uint64(r.tuples[i*r.width()+int64(8*(1+k)):]))
}

// Next returns the next record's payload, valid until the next call, and
// io.EOF after the last.
func (r *Response) Next() ([]byte, error) {
	if r.next >= r.Records() {
		r.Close()
		return nil, io.EOF
	}
	end := r.end(r.next)
	n := end - r.start
	if n < 0 {
		r.Close()
		return nil, fmt.Errorf("%w: record %d ends at %d, before it starts", errMalformed, r.S0+1+r.next, end)
	}
	if int64(cap(r.buf)) < n {
		r.buf = make([]byte, n)
	}
	if _, err := io.ReadFull(r.body, r.buf[:n]); err != nil {
		r.Close()
		return nil, err
	}
	r.next++
	r.start = end
	return r.buf[:n], nil
}

// WriteTo writes the payloads of the records Next has not returned, as
// stored: concatenated, nothing between them.
func (r *Response) WriteTo(w io.Writer) (int64, error) {
	defer r.Close()
	if r.next >= r.Records() {
		return 0, nil
	}
	// Through a buffer of its own, large: io.Discard's would be 8 KiB.
	n, err := io.CopyBuffer(struct{ io.Writer }{w}, r.body, make([]byte, 256<<10))
	r.next = r.Records()
	if want := r.end(r.Records()-1) - r.start; err == nil && n != want {
		err = fmt.Errorf("response cut short: %d of %d payload bytes: %w", n, want, io.ErrUnexpectedEOF)
	}
	return n, err
}

// Close reads what is left of the response off the connection. Value is
// not to be used after it.
func (r *Response) Close() error {
	r.once.Do(func() {
		if r.body != nil {
			io.Copy(io.Discard, r.body)
		}
		if r.client != nil { // before done: the client's reader waits on it
			r.client.spare, r.tuples = r.tuples, nil
		}
		close(r.done)
	})
	return nil
}
