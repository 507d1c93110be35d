package ingest

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/franzfs/franzfs/squash"
	"github.com/franzfs/franzfs/store"
	"github.com/franzfs/franzfs/tree"
)

// Streams kept open between reads are reopened when their name leads
// elsewhere: a stream deleted and made anew behind the daemon's back, an
// image replaced by mv; and no more than MaxReaders stay open.
func TestReadersFollowTheirNames(t *testing.T) {
	live, archive, work := t.TempDir(), t.TempDir(), t.TempDir()
	makeStream := func(dir, payload string) {
		w, err := store.OpenWriter(dir, store.WriterOptions{Create: true, Indices: []string{"time"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Append(store.Record{Payload: []byte(payload), Index: []int64{1}}); err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	makeImage := func(name, payload string) string {
		src := filepath.Join(work, name)
		makeStream(src, payload)
		s, err := store.OpenDir(src)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		img := filepath.Join(work, name+".squashfs")
		if _, err := squash.Archive(img, []squash.Source{{Stream: s, Path: "."}}, squash.Options{}); err != nil {
			t.Fatal(err)
		}
		return img
	}
	makeStream(filepath.Join(live, "a"), "one")
	for _, n := range []string{"c", "d", "e"} {
		makeStream(filepath.Join(live, n), n)
	}
	os.Rename(makeImage("old", "old image"), filepath.Join(archive, "b.squashfs"))

	srv, err := New(Config{Live: live, Images: tree.NewArchiveDir(archive), Archive: []string{archive}, MaxReaders: 2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	get := func(path, want string) {
		t.Helper()
		resp, err := http.Get(hs.URL + "/streams/" + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != want {
			t.Errorf("GET %s: %d %q, want %q", path, resp.StatusCode, body, want)
		}
	}
	get("a/seq/0", "one")
	get("a/seq/0", "one")
	os.RemoveAll(filepath.Join(live, "a"))
	makeStream(filepath.Join(live, "a"), "two")
	get("a/seq/0", "two")

	get("b/seq/0", "old image")
	os.Rename(makeImage("new", "new image"), filepath.Join(archive, "b.squashfs"))
	get("b/seq/0", "new image")

	for _, n := range []string{"c", "d", "e"} {
		get(n+"/seq/0", n)
	}
	open := srv.readers.Len()
	if open > 2 {
		t.Errorf("%d streams kept open, want at most MaxReaders 2", open)
	}
}
