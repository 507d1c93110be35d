package ingest

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/franzfs/franzfs/store"
	"github.com/franzfs/franzfs/tree"
)

// FramedRecord is one line of a view read with ?format=json: the record's
// number, index values and tags kept beside its payload (base64).
type FramedRecord struct {
	Seq     int64            `json:"seq"`
	Index   map[string]int64 `json:"index"`
	Tags    []string         `json:"tags"`
	Payload []byte           `json:"payload"`
}

// StreamEntry is one line of GET /streams.
type StreamEntry struct {
	Name     string `json:"name"`
	Archived bool   `json:"archived"`
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	out := []StreamEntry{} // [] when there are none, not null
	var walk func(dir string) error
	walk = func(dir string) error {
		entries, err := s.tree.List(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			p := path.Join(dir, e.Name)
			switch e.Kind {
			case tree.Folder:
				if err := walk(p); err != nil {
					return err
				}
			case tree.Stream:
				origin, _ := s.tree.Origin(p)
				out = append(out, StreamEntry{Name: p, Archived: origin.Source != s.cfg.Live})
			}
		}
		return nil
	}
	if err := walk("."); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, out)
}

// splitStream finds the stream a request path starts with, and the view
// path after it.
func (s *Server) splitStream(p string) (stream, view string, err error) {
	parts := strings.Split(p, "/")
	for i := 1; i <= len(parts); i++ {
		prefix := strings.Join(parts[:i], "/")
		k, err := s.tree.Kind(prefix)
		if err != nil {
			return "", "", err
		}
		switch k {
		case tree.Stream:
			return prefix, strings.Join(parts[i:], "/"), nil
		case tree.Missing:
			return "", "", fmt.Errorf("stream %s: %w", askedStream(parts), store.ErrNotFound)
		}
	}
	return "", "", fmt.Errorf("%s is a folder, not a stream: %w", p, store.ErrNotFound)
}

// askedStream is the stream a request path names, as the client wrote it:
// what comes before its view.
func askedStream(parts []string) string {
	for i := 1; i < len(parts); i++ {
		if _, err := store.ParsePath(strings.Join(parts[i:], "/")); err == nil || slices.Contains(viewDirs, parts[i]) {
			return strings.Join(parts[:i], "/")
		}
	}
	return strings.Join(parts, "/")
}

var viewDirs = []string{store.SeqDir, store.IndexDir, store.TagDir, store.QueryDir}

func (s *Server) handleRead(rw http.ResponseWriter, r *http.Request) {
	sw := &sentWriter{ResponseWriter: rw}
	var w http.ResponseWriter = sw
	st, view, release, err := s.openRequested(r.PathValue("path"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer release()
	if view == "" {
		view = store.StatFile
	}
	p, err := store.ParsePath(view)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch p.Kind {
	case store.KindStat:
		stat, err := st.Stat()
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, stat)
	case store.KindFile:
		err = serveFile(w, st, p.File)
	case store.KindFollow:
		err = s.follow(w, r, st)
	default:
		err = s.serveView(w, r, st, p)
	}
	if err != nil && !errors.Is(err, r.Context().Err()) {
		if sw.sent {
			// The status and length are on their way: cut the connection,
			// so the client sees a broken answer, not a short one.
			s.log.Error("read failed after the answer began", "path", r.URL.Path, "err", err)
			panic(http.ErrAbortHandler)
		}
		s.fail(w, r, err)
	}
}

// openRequested opens the stream a request path starts with, kept open
// between requests, and returns the view path after it. A stream open
// already is found without looking at the folders on the way.
func (s *Server) openRequested(p string) (st *store.Stream, view string, release func(), err error) {
	for i := strings.IndexByte(p, '/'); ; i = nextSlash(p, i) {
		name := p
		if i >= 0 {
			name = p[:i]
		}
		if origin, err := s.tree.Origin(name); err == nil {
			if st, release, ok := s.readers.Cached(name, origin); ok {
				return st, strings.TrimPrefix(p[len(name):], "/"), release, nil
			}
		}
		if i < 0 {
			break
		}
	}
	name, view, err := s.splitStream(p)
	if err != nil {
		return nil, "", nil, err
	}
	origin, err := s.tree.Origin(name)
	if err != nil {
		return nil, "", nil, err
	}
	st, release, err = s.readers.Get(name, origin, func() (*store.Stream, error) {
		st, _, err := s.tree.Open(name)
		return st, err
	})
	return st, view, release, err
}

// nextSlash returns the index of the next '/' in p after i, or -1.
func nextSlash(p string, i int) int {
	if j := strings.IndexByte(p[i+1:], '/'); j >= 0 {
		return i + 1 + j
	}
	return -1
}

// sentWriter notes whether the answer's header went out.
type sentWriter struct {
	http.ResponseWriter
	sent bool
}

func (w *sentWriter) WriteHeader(code int) {
	w.sent = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *sentWriter) Write(p []byte) (int, error) {
	w.sent = true
	return w.ResponseWriter.Write(p)
}

func (w *sentWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *sentWriter) Flush() {
	w.sent = true
	http.NewResponseController(w.ResponseWriter).Flush()
}

func serveFile(w http.ResponseWriter, st *store.Stream, name string) error {
	f, err := st.File(name)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", fmt.Sprint(fi.Size()))
	_, err = io.Copy(w, io.NewSectionReader(f, 0, fi.Size()))
	return err
}

// serveView writes a record view as of now: raw payloads, or with
// ?format=json a framed line per record; with ?follow it goes on writing
// records as they arrive, until the view is complete or the client leaves.
func (s *Server) serveView(w http.ResponseWriter, r *http.Request, st *store.Stream, p store.Path) error {
	v, err := st.View(p)
	if err != nil {
		return err
	}
	size, err := v.Size()
	if err != nil {
		return err
	}
	format, follow := r.URL.Query().Get("format"), r.URL.Query().Has("follow")
	if format == "" && !follow {
		h := w.Header()
		h["Content-Type"] = octetStream
		h["Content-Length"] = []string{strconv.FormatInt(size, 10)}
		if size <= smallView {
			// Read whole, so that header and body leave in one write.
			buf := smallViews.Get().(*[]byte)
			defer smallViews.Put(buf)
			b := (*buf)[:size]
			if _, err := v.ReadAt(b, 0); err != nil && err != io.EOF {
				return err
			}
			_, err := w.Write(b)
			return err
		}
		// Through a buffer of 256 KiB: each ReadAt of a tag view then
		// serves thousands of records.
		buf := bigViews.Get().(*[]byte)
		defer bigViews.Put(buf)
		_, err := io.CopyBuffer(writerOnly{w}, io.NewSectionReader(v, 0, size), *buf)
		return err
	}
	var emit func(rec int64, p *store.Payload) error
	rel := newRelay(w, func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	})
	defer rel.Close()
	switch format {
	case "":
		w.Header().Set("Content-Type", "application/octet-stream")
		emit = func(_ int64, p *store.Payload) error {
			_, err := p.WriteTo(rel)
			return err
		}
	case "framed": // as the franz CLI frames records: an 8-byte little-endian length first
		w.Header().Set("Content-Type", "application/octet-stream")
		emit = func(_ int64, p *store.Payload) error {
			b := binary.LittleEndian.AppendUint64(rel.AvailableBuffer(), uint64(p.Len()))
			if !p.Large() {
				_, err := rel.Write(append(b, p.Inline()...)) // one write a record
				return err
			}
			if _, err := rel.Write(b); err != nil {
				return err
			}
			_, err := p.WriteTo(rel)
			return err
		}
	case "json":
		w.Header().Set("Content-Type", BatchContentType)
		if emit, err = jsonLines(rel, st); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: format %q: want json or framed", errBadRequest, format)
	}
	if err := st.ScanFollow(r.Context(), v, 0, follow, emit, rel.Flush); err != nil {
		return err
	}
	return rel.Close()
}

var octetStream = []string{"application/octet-stream"}

// smallView is the size up to which a view is answered from one buffer.
const smallView = 64 << 10

var (
	smallViews = sync.Pool{New: func() any { b := make([]byte, smallView); return &b }}
	bigViews   = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}
)

// writerOnly hides the ResponseWriter's ReadFrom, which reads 32 KiB at a
// time, so that io.CopyBuffer uses the buffer given.
type writerOnly struct{ io.Writer }

// jsonLines returns an emitter of ?format=json lines, as encoding/json
// would write a FramedRecord, without its per-record allocations: names
// are encoded once, and each record's tags come from one walk of the
// postings.
func jsonLines(out io.Writer, st *store.Stream) (func(int64, *store.Payload) error, error) {
	indices := st.Indices()
	order := make([]int, len(indices)) // encoding/json writes map keys sorted
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(indices[a], indices[b]) })
	keys := make([][]byte, len(indices))
	for i, name := range indices {
		key, err := json.Marshal(name)
		if err != nil {
			return nil, err
		}
		keys[i] = key
	}
	tagger, err := st.Tagger()
	if err != nil {
		return nil, err
	}
	var tags []string
	var line []byte
	return func(rec int64, p *store.Payload) error {
		line = append(line[:0], `{"seq":`...)
		line = strconv.AppendInt(line, rec, 10)
		line = append(line, `,"index":{`...)
		for k, i := range order {
			v, err := st.IndexValue(i, rec)
			if err != nil {
				return err
			}
			if k > 0 {
				line = append(line, ',')
			}
			line = append(line, keys[i]...)
			line = append(line, ':')
			line = strconv.AppendInt(line, v, 10)
		}
		line = append(line, `},"tags":`...)
		if tags, err = tagger.Tags(rec, tags[:0]); err != nil {
			return err
		}
		if len(tags) == 0 {
			line = append(line, "null"...)
		} else {
			// Tags are of [A-Za-z0-9_-] (store.ValidTag): nothing to escape.
			line = append(line, '[')
			for k, tag := range tags {
				if k > 0 {
					line = append(line, ',')
				}
				line = append(line, '"')
				line = append(line, tag...)
				line = append(line, '"')
			}
			line = append(line, ']')
		}
		line = append(line, `,"payload":`...)
		var err error
		line, err = writePayload(out, line, p)
		return err
	}, nil
}

// writePayload writes line and then p as a JSON string (base64) closing
// the record's line; a large payload is encoded in pieces as it is read.
// line is a buffer to reuse, returned grown.
func writePayload(w io.Writer, line []byte, p *store.Payload) ([]byte, error) {
	line = append(line, '"')
	if !p.Large() {
		line = base64.StdEncoding.AppendEncode(line, p.Inline())
		line = append(line, "\"}\n"...)
		_, err := w.Write(line)
		return line, err
	}
	if _, err := w.Write(line); err != nil {
		return line, err
	}
	enc := base64.NewEncoder(base64.StdEncoding, w)
	if _, err := p.WriteTo(enc); err != nil {
		return line, err
	}
	if err := enc.Close(); err != nil {
		return line, err
	}
	_, err := io.WriteString(w, "\"}\n")
	return line, err
}

// follow streams the records that arrive, until the client goes away.
func (s *Server) follow(w http.ResponseWriter, r *http.Request, st *store.Stream) error {
	f, err := st.Follow()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	buf := make([]byte, 256<<10)
	for {
		n, err := f.Read(r.Context(), buf)
		if err == io.EOF {
			return nil // archived, or deleted: nothing more will come
		}
		if err != nil {
			return err
		}
		if _, err := w.Write(buf[:n]); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := store.ValidStreamName(name); err != nil {
		s.fail(w, r, err)
		return
	}
	if origin, err := s.tree.Origin(name); err == nil && origin.Source != s.cfg.Live {
		s.fail(w, r, fmt.Errorf("stream %s: %w", name, errArchived))
		return
	}
	if k, err := s.tree.Kind(name); err != nil || k != tree.Stream {
		s.fail(w, r, fmt.Errorf("stream %s: %w", name, store.ErrNotFound))
		return
	}
	s.mu.Lock()
	if wr := s.writers[name]; wr != nil {
		wr.Close()
		delete(s.writers, name)
	}
	s.readers.Drop(name) // its files may go: no descriptor keeps them
	err := store.RemoveIn(s.root, name)
	s.mu.Unlock()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
