package ingest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"

	"github.com/franzfs/franzfs/store"
)

// ?format=json and ?format=framed give exactly the records of a view:
// json as encoding/json writes a FramedRecord, framed as the franz CLI
// frames records; for ranges, tag queries and lists in any order, with
// large records among them.
func TestFormats(t *testing.T) {
	live := t.TempDir()
	w, err := store.OpenWriter(filepath.Join(live, "ev"), store.WriterOptions{Create: true, Indices: []string{"time", "b_n", "a"}})
	if err != nil {
		t.Fatal(err)
	}
	var recs []store.Record
	for i := range 40 {
		payload := fmt.Appendf(nil, "record %d\n", i)
		if i == 17 {
			payload = bytes.Repeat([]byte("L"), 3<<20) // past what is inlined
		}
		var tags []string
		for _, tag := range []string{"x", "y", "z"} {
			if i%(len(tag)+int(tag[0]-'x')+1) == 0 {
				tags = append(tags, tag)
			}
		}
		recs = append(recs, store.Record{Payload: payload, Index: []int64{int64(i * 10), int64(i / 3), int64(i * i)}, Tags: tags})
	}
	if _, err := w.AppendBatch(recs); err != nil {
		t.Fatal(err)
	}
	w.Close()
	srv, err := New(Config{Live: live, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	get := func(url string) []byte {
		resp, err := http.Get(hs.URL + url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
		}
		return body
	}
	tagged := func(match func(tags []string) bool) []int {
		var out []int
		for i, r := range recs {
			if match(r.Tags) {
				out = append(out, i)
			}
		}
		return out
	}
	for view, want := range map[string][]int{
		"seq/0:":    seq(0, 39),
		"seq/15:19": seq(15, 19),
		"tag/y":     tagged(func(t []string) bool { return slices.Contains(t, "y") }),
		"query/x+z,y": tagged(func(t []string) bool {
			return slices.Contains(t, "y") || slices.Contains(t, "x") && slices.Contains(t, "z")
		}),
		"seq/17,3,3,0": {17, 3, 3, 0},
		"seq/-1,5:6,1": {39, 5, 6, 1},
	} {
		var framed, lines bytes.Buffer
		for _, i := range want {
			r := recs[i]
			framed.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(r.Payload))))
			framed.Write(r.Payload)
			fr := FramedRecord{Seq: int64(i), Index: map[string]int64{"time": r.Index[0], "b_n": r.Index[1], "a": r.Index[2]}, Tags: r.Tags, Payload: r.Payload}
			line, _ := json.Marshal(fr)
			lines.Write(append(line, '\n'))
		}
		if got := get("/streams/ev/" + view + "?format=framed"); !bytes.Equal(got, framed.Bytes()) {
			t.Errorf("%s?format=framed: %d bytes, want %d", view, len(got), framed.Len())
		}
		if got := get("/streams/ev/" + view + "?format=json"); !bytes.Equal(got, lines.Bytes()) {
			t.Errorf("%s?format=json:\n%.300s\nwant\n%.300s", view, got, lines.Bytes())
		}
	}
	resp, err := http.Get(hs.URL + "/streams/ev/seq/0?format=xml")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("?format=xml: %d, want 400", resp.StatusCode)
	}
}

func seq(first, last int) []int {
	var out []int
	for i := first; i <= last; i++ {
		out = append(out, i)
	}
	return out
}
