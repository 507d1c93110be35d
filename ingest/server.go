// Package ingest is the writer daemon's HTTP API (SPEC section 3): it
// appends records to live streams for any program that speaks HTTP, and
// serves every view of live and archived streams with the same path
// grammar and code as the mount. It sits on store and tree and knows
// nothing of FUSE.
package ingest

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/franzfs/franzfs/internal/readers"
	"github.com/franzfs/franzfs/store"
	"github.com/franzfs/franzfs/tree"
)

// Config configures a Server.
type Config struct {
	Live    string      // the live root, where streams are appended
	Images  tree.Images // archive images, served read-only; may be nil
	Archive []string    // where Images come from (directories, s3:// URLs), kept out of error messages
	Sync    store.Sync  // when an append is answered
	// MaxBody bounds a request body, MaxRecord one record (413 beyond).
	MaxBody, MaxRecord int64
	// BodyMemory bounds the bytes of bodies held at once (503 beyond;
	// DefaultBodyMemory if 0). BodyTimeout bounds reading one body (408;
	// DefaultBodyTimeout if 0, none if negative).
	BodyMemory  int64
	BodyTimeout time.Duration
	// MaxWriters bounds the writers held open (DefaultMaxWriters if 0),
	// MaxRequestTags the distinct tags of a request (DefaultMaxRequestTags
	// if 0).
	MaxWriters, MaxRequestTags int
	// MaxReaders bounds the streams kept open for reading between
	// requests (readers.DefaultMax if 0).
	MaxReaders int
	// Token, if set, must be sent as "Authorization: Bearer TOKEN".
	Token string
	// IdleClose closes a stream's writer, releasing its lock, once no
	// append has used it for this long (DefaultIdleClose if 0, never if
	// negative), so that a finished stream can be archived and removed.
	IdleClose time.Duration
	Logger    *slog.Logger
}

// Defaults for the limits.
const (
	DefaultMaxBody   = 256 << 20
	DefaultMaxRecord = 64 << 20
	DefaultIdleClose = time.Minute
)

// Server holds the open writers of the streams it appends to.
type Server struct {
	cfg     Config
	root    *os.Root // the live root: every stream is opened beneath it
	tree    *tree.Tree
	log     *slog.Logger
	metrics *metrics
	bodies  budget
	readers *readers.Cache

	mu      sync.Mutex
	writers map[string]*openWriter // GUARDED_BY(mu): by stream name
	closed  bool                   // GUARDED_BY(mu)
	done    chan struct{}          // closed by Close: ends closeIdle
}

// openWriter is a writer the server holds, with what closeIdle needs.
type openWriter struct {
	*store.Writer
	users   int       // GUARDED_BY(Server.mu): appends using it now
	lastUse time.Time // GUARDED_BY(Server.mu)
}

// New returns a server of cfg.Live (and cfg.Images).
func New(cfg Config) (*Server, error) {
	root, err := store.OpenRoot(cfg.Live)
	if err != nil {
		return nil, err
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxRecord == 0 {
		cfg.MaxRecord = DefaultMaxRecord
	}
	if cfg.BodyMemory == 0 {
		cfg.BodyMemory = DefaultBodyMemory
	}
	if cfg.BodyTimeout == 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	if cfg.MaxReaders == 0 {
		cfg.MaxReaders = readers.DefaultMax
	}
	if cfg.MaxWriters == 0 {
		cfg.MaxWriters = DefaultMaxWriters
	}
	if cfg.MaxRequestTags == 0 {
		cfg.MaxRequestTags = DefaultMaxRequestTags
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.IdleClose == 0 {
		cfg.IdleClose = DefaultIdleClose
	}
	s := &Server{cfg: cfg, root: root, tree: tree.New(root, cfg.Images), log: cfg.Logger, metrics: newMetrics(),
		writers: map[string]*openWriter{}, done: make(chan struct{}), bodies: budget{left: cfg.BodyMemory},
		readers: readers.New(cfg.MaxReaders)}
	s.metrics.reg.MustRegister(fsyncCollector{s})
	if cfg.IdleClose > 0 {
		go s.closeIdle()
	}
	return s, nil
}

// Handler routes the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /streams/{name...}", s.handleAppend)
	mux.HandleFunc("GET /streams", s.handleList)
	mux.HandleFunc("GET /streams/{path...}", s.handleRead)
	mux.HandleFunc("DELETE /streams/{name...}", s.handleDelete)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("GET /metrics", s.metrics.handler())
	var h http.Handler = rawPaths(mux)
	if s.cfg.Token != "" {
		h = s.authorized(h)
	}
	return h
}

// rawPaths refuses empty, "." and ".." path components before the mux,
// which would otherwise clean them away: a malformed name is an error,
// never silently rewritten into another.
func rawPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := strings.CutPrefix(r.URL.Path, "/streams/"); ok {
			for comp := range strings.SplitSeq(p, "/") {
				if comp == "" || comp == "." || comp == ".." {
					httpError(w, http.StatusBadRequest, fmt.Sprintf("%v: path %q has an empty, . or .. component", store.ErrBadName, r.URL.Path))
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) authorized(next http.Handler) http.Handler {
	want := []byte(s.cfg.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" && !bearer(r.Header.Get("Authorization"), want) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="franzfs"`)
			httpError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearer reports whether an Authorization header carries token: the
// scheme in any case (RFC 9110), the token compared in constant time.
func bearer(header string, token []byte) bool {
	scheme, got, ok := strings.Cut(header, " ")
	return ok && strings.EqualFold(scheme, "Bearer") &&
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), token) == 1
}

// writer returns the open writer of stream name, opening it (and creating
// the stream with indices, if it does not exist) on first use. The caller
// calls release when done with it.
func (s *Server) writer(name string, indices []string) (w *store.Writer, release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil, errors.New("server is shutting down")
	}
	ow := s.writers[name]
	if ow != nil && ow.Broken() {
		// It failed for good (a deleted stream, a failed fsync): opening
		// the stream anew repairs it.
		ow.Close()
		delete(s.writers, name)
		ow = nil
	}
	if ow == nil {
		s.closeLeastUsed()
		w, err := store.OpenWriterIn(s.root, name, store.WriterOptions{
			Create: true, Indices: indices, Sync: s.cfg.Sync,
		})
		if err != nil {
			return nil, nil, err
		}
		ow = &openWriter{Writer: w}
		s.writers[name] = ow
	}
	ow.users++
	return ow.Writer, func() {
		s.mu.Lock()
		ow.users--
		ow.lastUse = time.Now()
		s.mu.Unlock()
	}, nil
}

// closeLeastUsed makes room for one more writer: past MaxWriters, it
// closes the one idle the longest. With none idle, the limit gives way:
// a stream is never refused for others' sake. mu is held.
func (s *Server) closeLeastUsed() {
	if len(s.writers) < s.cfg.MaxWriters {
		return
	}
	var oldest string
	for name, ow := range s.writers {
		if ow.users == 0 && (oldest == "" || ow.lastUse.Before(s.writers[oldest].lastUse)) {
			oldest = name
		}
	}
	if oldest != "" {
		if err := s.writers[oldest].Close(); err != nil {
			s.log.Error("closing a writer to make room", "stream", oldest, "err", err)
		}
		delete(s.writers, oldest)
	}
}

// closeIdle closes the writers no append has used for IdleClose, until
// Close.
func (s *Server) closeIdle() {
	tick := time.NewTicker(max(s.cfg.IdleClose/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return
		case now := <-tick.C:
			s.mu.Lock()
			for name, ow := range s.writers {
				if ow.users == 0 && now.Sub(ow.lastUse) >= s.cfg.IdleClose {
					if err := ow.Close(); err != nil {
						s.log.Error("closing an idle writer", "stream", name, "err", err)
					}
					delete(s.writers, name)
				}
			}
			s.mu.Unlock()
		}
	}
}

// Close flushes and closes every writer; appends after it fail.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.done)
	var errs []error
	for name, w := range s.writers {
		errs = append(errs, w.Close())
		delete(s.writers, name)
	}
	s.readers.CloseAll()
	errs = append(errs, s.root.Close())
	return errors.Join(errs...)
}

// status maps an error of store or tree to an HTTP status, in one place.
func status(err error) int {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig), errors.Is(err, errRecordTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, store.ErrBadName), errors.Is(err, store.ErrBadRecord), errors.Is(err, errBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, store.ErrLocked), errors.Is(err, errArchived), errors.Is(err, store.ErrDeleted):
		return http.StatusConflict
	case errors.Is(err, store.ErrUnsafe):
		return http.StatusForbidden
	case errors.Is(err, store.ErrClosed), errors.Is(err, errBusy):
		return http.StatusServiceUnavailable // try again
	case errors.Is(err, os.ErrDeadlineExceeded):
		return http.StatusRequestTimeout
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return http.StatusInsufficientStorage
	}
	return http.StatusInternalServerError
}

var (
	errBadRequest     = errors.New("bad request")
	errRecordTooLarge = errors.New("record too large")
	errBusy           = errors.New("busy")
	errArchived       = errors.New("stream is archived, read-only")
)

// fail answers with err's status and a one-line reason, and logs server
// errors. The answer names streams as the client did: the server's own
// directories are left out of it (the log keeps them).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := status(err)
	if code >= 500 || code == http.StatusForbidden {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	s.metrics.errors.WithLabelValues(s.streamLabel(r), r.Method, strconv.Itoa(code)).Inc()
	httpError(w, code, s.scrub(err.Error()))
}

// streamLabel is the stream a request concerns, for metrics: only a
// stream that exists, so that requests for made-up names cannot grow the
// metrics without bound.
func (s *Server) streamLabel(r *http.Request) string {
	name := r.PathValue("name")
	if name == "" {
		name = r.PathValue("path")
	}
	for p := name; p != "." && p != "/" && p != ""; p = path.Dir(p) {
		if k, err := s.tree.Kind(p); err == nil && k == tree.Stream {
			return p
		}
	}
	return ""
}

// scrub leaves the server's directories out of a message.
func (s *Server) scrub(msg string) string {
	for _, dir := range append([]string{s.cfg.Live}, s.cfg.Archive...) {
		if strings.Contains(dir, "://") { // an object store's URL, bucket and prefix
			msg = strings.ReplaceAll(msg, strings.TrimSuffix(dir, "/")+"/", "")
		} else if dir = filepath.Clean(dir); dir != "." {
			msg = strings.ReplaceAll(msg, dir+"/", "")
		}
	}
	return msg
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}
