package franzd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"github.com/franzfs/franzfs/internal/readers"
	"github.com/franzfs/franzfs/store"
	"github.com/franzfs/franzfs/tree"
)

// Limits of the server, each a flag of franzfs serve.
const (
	// DefaultMaxConns bounds the connections served at once; one past it
	// is answered InternalError and closed.
	DefaultMaxConns = 1024
	// DefaultMaxWaiting bounds a connection's requests waiting for records,
	// and DefaultMaxWaitingTotal all connections' (each holds a goroutine);
	// one past either is answered InternalError.
	DefaultMaxWaiting      = 1024
	DefaultMaxWaitingTotal = 16384
	// DefaultRequestTimeout bounds the time a request, once begun, may take
	// to arrive whole (and the handshake, from the connection on).
	DefaultRequestTimeout = 30 * time.Second
	// DefaultWriteTimeout bounds the time one frame may take to leave: a
	// client that stops reading is disconnected.
	DefaultWriteTimeout = time.Minute
)

// Config says what a Server serves.
type Config struct {
	Live     *os.Root  // the live root, for connections that name a directory
	Archives []Archive // images, for connections that name an image file; the first that has it serves it

	MaxConns, MaxWaiting, MaxWaitingTotal, MaxReaders int
	RequestTimeout, WriteTimeout                      time.Duration
	Logger                                            *slog.Logger
}

// An Archive finds the image a connection names by its file name (a
// directory of images, or a bucket's prefix).
type Archive interface {
	File(file string) (src tree.Source, ok bool, err error)
}

// Server answers franz clients.
type Server struct {
	cfg     Config
	log     *slog.Logger
	readers *readers.Cache
	waiters atomic.Int64 // requests waiting, on every connection

	mu     sync.Mutex
	conns  map[*conn]struct{} // GUARDED_BY(mu)
	closed bool               // GUARDED_BY(mu)
	wg     sync.WaitGroup
}

// NewServer returns a server of cfg's trees.
func NewServer(cfg Config) *Server {
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.MaxWaiting == 0 {
		cfg.MaxWaiting = DefaultMaxWaiting
	}
	if cfg.MaxWaitingTotal == 0 {
		cfg.MaxWaitingTotal = DefaultMaxWaitingTotal
	}
	if cfg.MaxReaders == 0 {
		cfg.MaxReaders = readers.DefaultMax
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Server{cfg: cfg, log: cfg.Logger, readers: readers.New(cfg.MaxReaders), conns: map[*conn]struct{}{}}
}

// Serve accepts connections on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		c := &conn{srv: s, nc: nc, waiting: map[int64]*waiter{}}
		c.ctx, c.cancel = context.WithCancel(context.Background())
		s.mu.Lock()
		full := len(s.conns) >= s.cfg.MaxConns
		if s.closed || full {
			s.mu.Unlock()
			if full {
				c.send(appendError(nil, connectionID, &Exception{Kind: InternalError, Text: fmt.Sprintf("too many connections (the server takes %d)", s.cfg.MaxConns)}))
			}
			nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Close ends every connection (Serve returns once its listener is closed)
// and the streams they read.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.readers.CloseAll()
	return nil
}

// A conn is one client's connection: one directory, many requests.
type conn struct {
	srv    *Server
	nc     net.Conn
	ctx    context.Context // ends with the connection: waiters stop
	cancel context.CancelFunc

	// Where stream names lead: the paths beneath base of src, an image or
	// the live root. dir is as the client named it, for errors.
	dir      string
	src      tree.Source
	base     string
	image    bool
	cacheKey string // sets the source's names apart in the cache
	nowhere  bool   // dir cannot hold streams: every query is StreamNotFound

	wmu sync.Mutex // a frame and its body leave whole

	mu      sync.Mutex
	waiting map[int64]*waiter // GUARDED_BY(mu): by request id
	waiters int               // GUARDED_BY(mu): running, ids reused or not
	wg      sync.WaitGroup
}

// A waiter is a request left waiting for records; RawClean cancels it.
type waiter struct{ cancel context.CancelFunc }

func (c *conn) close() {
	c.cancel()
	c.nc.Close()
}

func (c *conn) serve() {
	defer c.wg.Wait()
	defer c.close()
	r := bufio.NewReaderSize(c.nc, 16<<10)
	d := decoder{r}
	log := c.srv.log.With("client", c.nc.RemoteAddr().String())
	c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.RequestTimeout))
	dir, err := d.bytes(MaxName)
	if err != nil {
		log.Debug("franzd: handshake", "err", err)
		c.send(appendError(nil, connectionID, &Exception{Kind: MalformedRequest, Text: "Expecting a path"}))
		return
	}
	if err := c.handshake(dir); err != nil {
		log.Info("franzd: handshake", "dir", dir, "err", err)
		c.send(appendError(nil, connectionID, &Exception{Kind: InternalError, Text: err.Error()}))
		return
	}
	log.Debug("franzd: connected", "dir", dir)
	if !c.send([]byte{version}) {
		return
	}
	for {
		c.nc.SetReadDeadline(time.Time{}) // a client may wait for ever between requests
		tag, err := r.ReadByte()
		if err != nil {
			log.Debug("franzd: disconnected", "dir", dir, "err", err)
			return
		}
		c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.RequestTimeout))
		var id int64
		switch tag {
		case tagQuery:
			var q Query
			if id, err = d.int(); err == nil {
				if q, err = d.query(); err == nil {
					c.ask(id, q)
				}
			}
		case tagClean:
			if id, err = d.int(); err == nil {
				c.clean(id)
			}
		default:
			err = fmt.Errorf("%w: RawRequest tag %d", errMalformed, tag)
		}
		if err != nil {
			log.Info("franzd: malformed request", "dir", dir, "err", err)
			c.send(appendError(nil, connectionID, &Exception{Kind: MalformedRequest, Text: fmt.Sprintf("Failed reading: %v", err)}))
			return
		}
	}
}

// handshake chooses where the connection's stream names lead: the image
// dir names under the archive, or else the live directory dir (which need
// not exist: queries say so).
func (c *conn) handshake(dir string) error {
	c.dir = dir
	for i, a := range c.srv.cfg.Archives {
		if dir == "" { // the live root itself
			break
		}
		src, ok, err := a.File(dir)
		if err != nil {
			c.srv.log.Warn("franzd: archive image cannot be read", "dir", dir, "err", err)
			return fmt.Errorf("archive %s: not an image franzfs reads, see the server's log", dir)
		}
		if ok {
			c.src, c.image, c.cacheKey = src, true, fmt.Sprintf("\x00%d\x00%s\x00", i, dir)
			return nil
		}
	}
	c.src, c.base = tree.LiveSource(c.srv.cfg.Live), dir
	c.nowhere = dir != "" && store.ValidStreamName(dir) != nil
	return nil
}

// send writes one frame, or ends the connection.
func (c *conn) send(frame []byte) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.write(frame) == nil
}

// write writes under wmu; a failure closes the connection.
func (c *conn) write(b []byte) error {
	c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
	_, err := c.nc.Write(b)
	if err != nil {
		c.close()
	}
	return err
}

// open opens the stream a request names, for release to give back.
func (c *conn) open(name string) (*store.Stream, func(), error) {
	p := path.Join(c.base, name)
	if c.nowhere || name != "" && store.ValidStreamName(name) != nil || p == "" && !c.image {
		return nil, nil, &Exception{Kind: StreamNotFound, Text: named(c.dir, name)}
	}
	if p == "" {
		p = "." // the image's root
	}
	st, release, err := c.srv.readers.Get(c.cacheKey+p, tree.Origin{Source: c.src.ID, Path: p}, func() (*store.Stream, error) {
		return c.src.Open(p)
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, &Exception{Kind: StreamNotFound, Text: named(c.dir, name)}
	}
	return st, release, err
}

// ask answers a query now, or leaves a waiter to answer it.
func (c *conn) ask(id int64, q Query) {
	st, release, err := c.open(q.Stream)
	if err != nil {
		c.fail(id, q.Stream, err)
		return
	}
	a, err := evaluate(st, q)
	switch {
	case err != nil:
		release()
		c.fail(id, q.Stream, err)
	case a.ready:
		c.respond(id, st, q, a.header)
		release()
	default:
		c.mu.Lock()
		var full string
		switch {
		case c.waiters >= c.srv.cfg.MaxWaiting:
			full = fmt.Sprintf("too many waiting requests (a connection may have %d)", c.srv.cfg.MaxWaiting)
		case c.srv.waiters.Add(1) > int64(c.srv.cfg.MaxWaitingTotal):
			c.srv.waiters.Add(-1)
			full = fmt.Sprintf("too many waiting requests (the server takes %d)", c.srv.cfg.MaxWaitingTotal)
		}
		if full != "" {
			c.mu.Unlock()
			release()
			c.fail(id, q.Stream, &Exception{Kind: InternalError, Text: full})
			return
		}
		ctx, cancel := context.WithCancel(c.ctx)
		w := &waiter{cancel}
		c.waiting[id] = w
		c.waiters++
		c.wg.Add(1)
		c.mu.Unlock()
		go func() {
			defer c.wg.Done()
			defer release()
			c.wait(ctx, id, st, q, a.count)
			c.srv.waiters.Add(-1)
			c.mu.Lock()
			c.waiters--
			// A later request may have taken the id: only this one's entry goes.
			if c.waiting[id] == w {
				delete(c.waiting, id)
			}
			c.mu.Unlock()
			cancel()
		}()
	}
}

// wait answers a query that was not ready: ResponseWait now, then the
// Response once appends make it ready.
func (c *conn) wait(ctx context.Context, id int64, st *store.Stream, q Query, count int64) {
	if !c.send(appendWait(nil, id)) {
		return
	}
	for {
		_, err := st.Wait(ctx, count)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, io.EOF) && st.Live():
			c.fail(id, q.Stream, &Exception{Kind: StreamNotFound, Text: named(c.dir, q.Stream)})
			return
		case errors.Is(err, io.EOF): // an archive never grows: wait for the cancel
			<-ctx.Done()
			return
		case err != nil:
			c.fail(id, q.Stream, err)
			return
		}
		a, err := evaluate(st, q)
		switch {
		case err != nil:
			c.fail(id, q.Stream, err)
			return
		case a.ready:
			c.respond(id, st, q, a.header)
			return
		}
		count = a.count
	}
}

// clean cancels the waiting request id; nothing is sent.
func (c *conn) clean(id int64) {
	c.mu.Lock()
	w := c.waiting[id]
	delete(c.waiting, id)
	c.mu.Unlock()
	if w != nil {
		w.cancel()
	}
}

// fail answers request id with an error: an Exception as it is, a damaged
// stream as InternalError naming it as the client did.
func (c *conn) fail(id int64, stream string, err error) {
	var e *Exception
	if !errors.As(err, &e) {
		c.srv.log.Warn("franzd: request failed", "dir", c.dir, "stream", stream, "err", err)
		e = &Exception{Kind: InternalError, Text: fmt.Sprintf("stream %s: damaged, see the server's log", named(c.dir, stream))}
	}
	c.send(appendError(nil, id, e))
}

// respond sends a Response: the header, the records' tuples and payloads
// as stored. A read that fails midway ends the connection: the frame
// cannot be finished.
func (c *conn) respond(id int64, st *store.Stream, q Query, h Header) {
	frame := appendHeader(nil, id, h)
	var tuples, payloads store.Section
	if h.Records() > 0 {
		var err error
		if tuples, payloads, err = st.Rows(h.S0+1, h.S1+1); err != nil {
			c.fail(id, q.Stream, err)
			return
		}
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.write(frame) != nil || h.Records() <= 0 {
		return
	}
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	for _, sec := range []store.Section{tuples, payloads} {
		if _, err := io.CopyBuffer(writerFunc(c.write), sec.Reader(), *buf); err != nil {
			c.srv.log.Warn("franzd: response cut short", "dir", c.dir, "stream", q.Stream, "err", err)
			c.close()
			return
		}
	}
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

type writerFunc func([]byte) error

func (f writerFunc) Write(p []byte) (int, error) {
	if err := f(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// named is a stream's name as the client gave it: dir and name joined,
// never cleaned, never a server path.
func named(dir, name string) string {
	switch {
	case dir == "":
		return name
	case name == "":
		return dir
	}
	return dir + "/" + name
}
