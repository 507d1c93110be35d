package ingest

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/franzfs/franzfs/store"
)

// A writer no append uses is closed after IdleClose, releasing the stream
// for archiving; the next append opens it again.
func TestIdleClose(t *testing.T) {
	live := t.TempDir()
	srv, err := New(Config{Live: live, IdleClose: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	post := func() {
		resp, err := http.Post(hs.URL+"/streams/day", "", strings.NewReader("x\n"))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("append: %v %v", err, resp.Status)
		}
		resp.Body.Close()
	}
	post()
	dir := filepath.Join(live, "day")
	if _, err := store.OpenWriter(dir, store.WriterOptions{}); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("right after an append, the daemon's writer holds the stream: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		w, err := store.OpenWriter(dir, store.WriterOptions{})
		if err == nil {
			w.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("idle writer still holds the stream: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	post()
	s, _ := store.OpenDir(dir)
	defer s.Close()
	if n, _ := s.Count(); n != 2 {
		t.Errorf("%d records after reopening, want 2", n)
	}
}
