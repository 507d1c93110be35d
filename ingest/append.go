package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/franzfs/franzfs/store"
)

// BatchContentType is the framing of a batch: one JSON object a line,
//
//	{"payload": "<base64>", "index": {"NAME": V}, "tags": ["T"]}
//
// with "text": "..." allowed in place of "payload" for text records. V is
// an integer, or for time also an RFC 3339 string.
const BatchContentType = "application/x-ndjson"

// BatchRecord is one line of a batch.
type BatchRecord struct {
	Payload []byte                     `json:"payload,omitempty"` // base64 in JSON
	Text    *string                    `json:"text,omitempty"`
	Index   map[string]json.RawMessage `json:"index,omitempty"`
	Tags    []string                   `json:"tags,omitempty"`
}

// pending is a record as the request gives it: index values by name.
type pending struct {
	payload []byte
	index   map[string]int64
	tags    []string
}

func (s *Server) handleAppend(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	name := r.PathValue("name")
	if err := store.ValidStreamName(name); err != nil {
		s.fail(w, r, err)
		return
	}
	if origin, err := s.tree.Origin(name); err == nil && origin.Source != nil && origin.Source != s.cfg.Live {
		s.fail(w, r, fmt.Errorf("stream %s: %w", name, errArchived))
		return
	}
	common, tags, err := parseQuery(r, start)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body, release, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer release()
	recs, err := s.parseRecords(r, body, common, tags, start)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	first, err := s.append(name, recs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var bytes int
	for _, rec := range recs {
		bytes += len(rec.payload)
	}
	s.metrics.appended(name, len(recs), bytes, time.Since(start))
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(struct {
		First int64 `json:"first"`
		Count int   `json:"count"`
	}{first, len(recs)})
}

// parseQuery reads an append's query: index values and tags that apply
// to every record of the request.
func parseQuery(r *http.Request, now time.Time) (common map[string]int64, tags []string, err error) {
	q := r.URL.Query()
	common = map[string]int64{}
	for key, vals := range q {
		index, ok := strings.CutPrefix(key, "index.")
		if !ok {
			if key != "tag" && key != "lines" {
				return nil, nil, fmt.Errorf("%w: unknown parameter %q (want index.NAME, tag, lines)", errBadRequest, key)
			}
			continue
		}
		if err := store.ValidIndexName(index); err != nil {
			return nil, nil, err
		}
		if len(vals) != 1 {
			return nil, nil, fmt.Errorf("%w: index.%s given %d times", errBadRequest, index, len(vals))
		}
		v, err := store.ParseIndexValue(index, vals[0], now)
		if err != nil {
			return nil, nil, err
		}
		common[index] = v
	}
	tags = q["tag"]
	for _, t := range tags {
		if err := store.ValidTag(t); err != nil {
			return nil, nil, err
		}
	}
	return common, tags, nil
}

// parseRecords splits an append's body into records: the body as one
// record, one a line with ?lines, or a batch.
func (s *Server) parseRecords(r *http.Request, body []byte, common map[string]int64, tags []string, now time.Time) ([]pending, error) {
	var recs []pending
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mediaType == BatchContentType:
		var err error
		if recs, err = parseBatch(body, common, tags, now); err != nil {
			return nil, err
		}
	case r.URL.Query().Has("lines"):
		for len(body) > 0 {
			end := bytes.IndexByte(body, '\n') + 1
			if end == 0 {
				end = len(body)
			}
			recs = append(recs, pending{payload: body[:end], index: common, tags: tags})
			body = body[end:]
		}
	default:
		recs = []pending{{payload: body, index: common, tags: tags}}
	}
	distinct := map[string]bool{}
	for i, rec := range recs {
		if int64(len(rec.payload)) > s.cfg.MaxRecord {
			return nil, fmt.Errorf("record %d of the request: %d bytes: %w (limit %d)", i, len(rec.payload), errRecordTooLarge, s.cfg.MaxRecord)
		}
		for _, t := range rec.tags {
			distinct[t] = true
		}
		if len(distinct) > s.cfg.MaxRequestTags {
			return nil, fmt.Errorf("%w: the request has more than %d distinct tags (--max-request-tags)", errBadRequest, s.cfg.MaxRequestTags)
		}
	}
	return recs, nil
}

// readBody reads an append's body within the limits: its size (refused
// from Content-Length before a byte is read), the time it may take, and
// the memory all bodies may hold at once. release gives the memory back.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) (body []byte, release func(), err error) {
	if r.ContentLength > s.cfg.MaxBody {
		return nil, nil, &http.MaxBytesError{Limit: s.cfg.MaxBody}
	}
	want := r.ContentLength
	if want < 0 {
		want = s.cfg.MaxBody // chunked: as much as it may send
	}
	if !s.bodies.take(want) {
		return nil, nil, fmt.Errorf("%w: request bodies in progress hold the %d bytes allowed (--body-memory); try again", errBusy, s.cfg.BodyMemory)
	}
	if s.cfg.BodyTimeout > 0 {
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout))
	}
	body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("request body not read within %v (--body-timeout): %w", s.cfg.BodyTimeout, err)
	}
	if err != nil {
		s.bodies.give(want)
		return nil, nil, err
	}
	return body, func() { s.bodies.give(want) }, nil
}

func parseBatch(body []byte, common map[string]int64, tags []string, now time.Time) ([]pending, error) {
	var recs []pending
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, len(body)+1)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var br BatchRecord
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&br); err != nil {
			return nil, fmt.Errorf("%w: batch line %d: %v", errBadRequest, line, err)
		}
		rec := pending{payload: br.Payload, index: cloneValues(common), tags: append(slices.Clone(tags), br.Tags...)}
		if br.Text != nil {
			if br.Payload != nil {
				return nil, fmt.Errorf("%w: batch line %d: both payload and text", errBadRequest, line)
			}
			rec.payload = []byte(*br.Text)
		}
		for name, raw := range br.Index {
			v, err := batchValue(name, raw, now)
			if err != nil {
				return nil, fmt.Errorf("batch line %d: %w", line, err)
			}
			rec.index[name] = v
		}
		for _, t := range br.Tags {
			if err := store.ValidTag(t); err != nil {
				return nil, fmt.Errorf("batch line %d: %w", line, err)
			}
		}
		recs = append(recs, rec)
	}
	return recs, sc.Err()
}

func batchValue(name string, raw json.RawMessage, now time.Time) (int64, error) {
	if err := store.ValidIndexName(name); err != nil {
		return 0, err
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return store.ParseIndexValue(name, s, now)
	}
	v, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: index %s value %s is not an integer", errBadRequest, name, raw)
	}
	return v, nil
}

func cloneValues(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// append writes the records to stream name, creating it with a time index
// and the indices they name, and returns the number of the first. A stream
// deleted under its open writer is made anew, and the records go there:
// none is acknowledged into the deleted files.
func (s *Server) append(name string, recs []pending) (int64, error) {
	first, err := s.appendOnce(name, recs)
	if errors.Is(err, store.ErrDeleted) || errors.Is(err, store.ErrClosed) {
		first, err = s.appendOnce(name, recs) // s.writer opens it anew
	}
	return first, err
}

func (s *Server) appendOnce(name string, recs []pending) (int64, error) {
	named := map[string]bool{store.TimeIndex: true}
	for _, rec := range recs {
		for n := range rec.index {
			named[n] = true
		}
		if len(named) > store.MaxIndices {
			return 0, fmt.Errorf("stream %s: %w: the request names more than %d indices", name, store.ErrBadRecord, store.MaxIndices)
		}
	}
	delete(named, store.TimeIndex)
	names := append([]string{store.TimeIndex}, slices.Sorted(maps.Keys(named))...)
	w, release, err := s.writer(name, names)
	if err != nil {
		return 0, err
	}
	defer release()
	indices := w.Indices()
	batch := make([]store.Record, len(recs))
	for i, rec := range recs {
		values := make([]int64, len(indices))
		given := 0 // of rec.index's values, those the stream has an index for
		for k, index := range indices {
			v, ok := rec.index[index]
			switch {
			case ok:
				values[k] = v
				given++
			case index == store.TimeIndex:
				values[k] = store.Now
			default:
				return 0, fmt.Errorf("stream %s: %w: record %d of the request has no value of index %s", name, store.ErrBadRecord, i, index)
			}
		}
		if given < len(rec.index) {
			for n := range rec.index {
				if !slices.Contains(indices, n) {
					return 0, fmt.Errorf("stream %s: %w: no index %s (it has %q)", name, store.ErrBadRecord, n, indices)
				}
			}
		}
		batch[i] = store.Record{Payload: rec.payload, Index: values, Tags: rec.tags}
	}
	return w.AppendBatch(batch)
}
