package ingest

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// Each kind of failure maps to the status that tells a client what to do.
func TestStatus(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
	}{
		{store.ErrUnsafe, 403},
		{store.ErrLocked, 409},
		{store.ErrDeleted, 409},
		{store.ErrClosed, 503},
		{errBusy, 503},
		{fmt.Errorf("write: %w", syscall.ENOSPC), 507},
		{fmt.Errorf("write: %w", syscall.EDQUOT), 507},
		{fmt.Errorf("read: %w", os.ErrDeadlineExceeded), 408},
		{&http.MaxBytesError{Limit: 1}, 413},
		{errors.New("other"), 500},
	} {
		if got := status(c.err); got != c.code {
			t.Errorf("%v: %d, want %d", c.err, got, c.code)
		}
	}
}

// A bearer token is taken with the scheme in any case, compared whole.
func TestBearer(t *testing.T) {
	token := []byte("s3cret")
	for h, ok := range map[string]bool{"Bearer s3cret": true, "bearer s3cret": true, "BEARER  s3cret": true,
		"Bearer s3cre": false, "Bearer s3crett": false, "Basic s3cret": false, "s3cret": false, "": false} {
		if bearer(h, token) != ok {
			t.Errorf("%q: %v, want %v", h, !ok, ok)
		}
	}
}
