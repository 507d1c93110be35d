// Package client talks to a franzfs serve daemon over HTTP: the few calls
// the CLI and the forwarder make, with the daemon's one-line reasons kept
// in the errors.
package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/franzfs/franzfs/ingest"
	"github.com/franzfs/franzfs/store"
)

// Client is a daemon at Base (such as http://localhost:7070).
type Client struct {
	Base  string
	Token string // sent as a bearer token when set
	HTTP  *http.Client
}

// StatusError is a non-2xx answer: its status and the daemon's reason.
type StatusError struct {
	URL    string
	Status int
	Reason string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: %d %s: %s", e.URL, e.Status, http.StatusText(e.Status), e.Reason)
}

// Unwrap gives the store's error for the statuses that map to one, so
// that a 404 is store.ErrNotFound here as on a directory.
func (e *StatusError) Unwrap() error {
	switch e.Status {
	case http.StatusNotFound:
		return store.ErrNotFound
	case http.StatusBadRequest:
		return store.ErrBadRecord
	case http.StatusConflict:
		return store.ErrLocked
	}
	return nil
}

// Permanent reports whether err is an answer that retrying will not change:
// a 4xx, such as a bad name or a refused record.
func Permanent(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Status/100 == 4
}

// Do sends a request for /streams/PATH and fails on a non-2xx answer.
func (c *Client) Do(ctx context.Context, method, path string, q url.Values, contentType string, body io.Reader) (*http.Response, error) {
	u := strings.TrimSuffix(c.Base, "/") + "/streams/" + (&url.URL{Path: path}).EscapedPath() // index/%/ is index/%25/
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("server %s: %w", c.Base, err)
	}
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, &StatusError{URL: u, Status: resp.StatusCode, Reason: strings.TrimSpace(string(msg))}
	}
	return resp, nil
}

// Framed reads a view of stream name with each record framed (seq, index
// values, tags, payload), calling fn for each; with follow it goes on with
// records as they arrive until ctx ends or fn fails.
func (c *Client) Framed(ctx context.Context, name, view string, follow bool, fn func(ingest.FramedRecord) error) error {
	q := url.Values{"format": {"json"}}
	if follow {
		q.Set("follow", "")
	}
	resp, err := c.Do(ctx, http.MethodGet, name+"/"+view, q, "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(bufio.NewReader(resp.Body))
	for {
		var fr ingest.FramedRecord
		if err := dec.Decode(&fr); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("server %s: stream %s: %w", c.Base, name, err)
		}
		if err := fn(fr); err != nil {
			return err
		}
	}
}

// Appended is the daemon's answer to an append: the numbers it assigned.
type Appended struct {
	First int64 `json:"first"`
	Count int   `json:"count"`
}

// AppendBatch appends records to stream name in one request, all or none.
func (c *Client) AppendBatch(ctx context.Context, name string, recs []ingest.BatchRecord) (Appended, error) {
	var body strings.Builder
	enc := json.NewEncoder(&body)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return Appended{}, err
		}
	}
	resp, err := c.Do(ctx, http.MethodPost, name, nil, ingest.BatchContentType, strings.NewReader(body.String()))
	if err != nil {
		return Appended{}, err
	}
	defer resp.Body.Close()
	var a Appended
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return Appended{}, fmt.Errorf("server %s: append to %s: %w", c.Base, name, err)
	}
	return a, nil
}
