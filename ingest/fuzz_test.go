package ingest

import (
	"net/http"
	"testing"
	"time"
)

// The batch decoder takes any bytes a client sends: it never panics, and
// what it refuses is a client's error (4xx), never the server's.
func FuzzParseBatch(f *testing.F) {
	for _, s := range []string{
		`{"text":"a\n","tags":["x"],"index":{"n":6}}` + "\n" + `{"payload":"AAEC/w==","index":{"n":7}}`,
		`{"text":"a","index":{"time":"1999-01-01T00:00:00Z"}}`,
		`{"payload":"AAEC","text":"b"}`,
		`{"index":{"time":"2300-01-01T00:00:00Z"}}`,
		`{"tags":["a b"]}`,
		`{"unknown":1}`,
		"\n\n{}\n",
		`{"index":{"n":1e30}}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Unix(1e9, 0)
	f.Fuzz(func(t *testing.T, body []byte) {
		recs, err := parseBatch(body, map[string]int64{"c": 1}, []string{"t"}, now)
		if err != nil {
			if code := status(err); code != http.StatusBadRequest {
				t.Fatalf("%q: %v answers %d, want 400", body, err, code)
			}
			return
		}
		// Each record keeps the request's values and tags, its own added.
		for _, r := range recs {
			if _, ok := r.index["c"]; !ok || len(r.tags) == 0 || r.tags[0] != "t" {
				t.Fatalf("%q: the request's values or tags were lost: %+v", body, r)
			}
		}
	})
}
