// Package ingest is the writer daemon's HTTP API (SPEC section 3): it
// appends records to live streams for any program that speaks HTTP, and
// serves every view of live and archived streams with the same path
// grammar and code as the mount. It sits on store and tree and knows
// nothing of FUSE.
package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/franzfs/franzfs/store"
	"github.com/franzfs/franzfs/tree"
)

// Config configures a Server.
type Config struct {
	Live    string     // the live root, where streams are appended
	Archive string     // a directory of archive images, served read-only; may be ""
	Sync    store.Sync // when an append is answered
	// MaxBody bounds a request body, MaxRecord one record (413 beyond).
	MaxBody, MaxRecord int64
	// Token, if set, must be sent as "Authorization: Bearer TOKEN".
	Token  string
	Logger *slog.Logger
}

// Defaults for the limits.
const (
	DefaultMaxBody   = 256 << 20
	DefaultMaxRecord = 64 << 20
)

// Server holds the open writers of the streams it appends to.
type Server struct {
	cfg     Config
	tree    *tree.Tree
	log     *slog.Logger
	metrics *metrics

	mu      sync.Mutex
	writers map[string]*store.Writer // GUARDED_BY(mu): by stream name
	closed  bool                     // GUARDED_BY(mu)
}

// New returns a server of cfg.Live (and cfg.Archive).
func New(cfg Config) (*Server, error) {
	if fi, err := os.Stat(cfg.Live); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("live root %s is not a directory", cfg.Live)
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxRecord == 0 {
		cfg.MaxRecord = DefaultMaxRecord
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var images tree.Images
	if cfg.Archive != "" {
		images = tree.NewArchiveDir(cfg.Archive)
	}
	s := &Server{cfg: cfg, tree: tree.New(cfg.Live, images), log: cfg.Logger, metrics: newMetrics(), writers: map[string]*store.Writer{}}
	s.metrics.reg.MustRegister(fsyncCollector{s})
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
	want := "Bearer " + s.cfg.Token
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" && r.Header.Get("Authorization") != want {
			httpError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writer returns the open writer of stream name, opening it (and creating
// the stream with indices, if it does not exist) on first use.
func (s *Server) writer(name string, indices []string) (*store.Writer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("server is shutting down")
	}
	if w := s.writers[name]; w != nil {
		return w, nil
	}
	w, err := store.OpenWriter(filepath.Join(s.cfg.Live, filepath.FromSlash(name)), store.WriterOptions{
		Create: true, Indices: indices, Sync: s.cfg.Sync,
	})
	if err != nil {
		return nil, err
	}
	s.writers[name] = w
	return w, nil
}

// Close flushes and closes every writer; appends after it fail.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var errs []error
	for name, w := range s.writers {
		errs = append(errs, w.Close())
		delete(s.writers, name)
	}
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
	case errors.Is(err, store.ErrLocked), errors.Is(err, errArchived):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

var (
	errBadRequest     = errors.New("bad request")
	errRecordTooLarge = errors.New("record too large")
	errArchived       = errors.New("stream is archived, read-only")
)

// fail answers with err's status and a one-line reason, and logs server errors.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := status(err)
	if code >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	stream := r.PathValue("name")
	if stream == "" {
		stream = r.PathValue("path")
	}
	s.metrics.errors.WithLabelValues(stream, r.Method, fmt.Sprint(code)).Inc()
	httpError(w, code, err.Error())
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}
