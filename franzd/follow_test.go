package franzd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/franzfs/franzfs/squash"
	"github.com/franzfs/franzfs/store"
)

// follow reads stream from record 0 as franz's followers do: each query
// asks for what comes after the last record seen, and waits if none has.
func follow(ctx context.Context, c *Client, stream string, n int64) ([]string, error) {
	var out []string
	for next := int64(0); next < n; {
		resp, err := c.Query(ctx, Query{Stream: stream, From: BySeqNum(next), To: BySeqNum(-1)})
		if err != nil {
			return out, err
		}
		if resp.S0+1 != next {
			return out, fmt.Errorf("asked from %d, answered from %d", next, resp.S0+1)
		}
		for {
			p, err := resp.Next()
			if err != nil {
				break
			}
			out = append(out, string(p))
			next++
		}
	}
	return out, nil
}

// 100 clients follow a stream while a writer appends: each receives every
// record once, in order.
func TestManyFollowers(t *testing.T) {
	live := t.TempDir()
	w, err := store.OpenWriter(filepath.Join(live, "ev"), store.WriterOptions{Create: true, Indices: []string{"time"}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	addr := testServer(t, live, "")
	const clients, records = 100, 300
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Dial(context.Background(), addr, "")
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			got, err := follow(context.Background(), c, "ev", records)
			if err == nil {
				for i, p := range got {
					if want := fmt.Sprintf("r%d\n", i); p != want {
						err = fmt.Errorf("record %d is %q, want %q", i, p, want)
						break
					}
				}
			}
			errs <- err
		}()
	}
	for i := range records {
		if _, err := w.Append(store.Record{Payload: fmt.Appendf(nil, "r%d\n", i), Index: []int64{store.Now}}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// The handshake names an image under the archive; stream names are paths
// inside it, "" its root.
func TestArchiveByDirectory(t *testing.T) {
	live, archive, work := t.TempDir(), t.TempDir(), t.TempDir()
	p, v := tens(5)
	franzStream(t, filepath.Join(work, "one"), "\n", p, v...)
	franzStream(t, filepath.Join(work, "app", "audit"), "t\n", rs(0, 1), []int64{1}, []int64{2})
	archiveOf(t, filepath.Join(archive, "one.squashfs"), filepath.Join(work, "one"), ".")
	os.Mkdir(filepath.Join(archive, "sub"), 0o755)
	archiveOf(t, filepath.Join(archive, "sub", "app-2026.squashfs"), filepath.Join(work, "app", "audit"), "app/audit")
	franzStream(t, filepath.Join(live, "one.squashfs"), "\n", rs(9), []int64{0}) // never consulted
	addr := testServer(t, live, archive)
	for _, c := range []struct {
		dir, stream string
		want        []string
	}{
		{"one.squashfs", "", rs(0, 1, 2, 3, 4)},
		{"sub/app-2026.squashfs", "app/audit", rs(0, 1)},
	} {
		cl, err := Dial(context.Background(), addr, c.dir)
		if err != nil {
			t.Fatal(err)
		}
		got, err := follow(context.Background(), cl, c.stream, int64(len(c.want)))
		if err != nil || !equal(got, c.want) {
			t.Errorf("%s %q: %q, %v", c.dir, c.stream, got, err)
		}
		// A wait on an archive lasts until cancelled.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := cl.Query(ctx, Query{Stream: c.stream, From: BySeqNum(100), To: BySeqNum(100)}); err != context.Canceled {
			t.Errorf("query past an archive's end: %v", err)
		}
		_, err = cl.Query(context.Background(), Query{Stream: "nosuch", From: BySeqNum(0), To: BySeqNum(0)})
		if e, ok := err.(*Exception); !ok || e.Kind != StreamNotFound {
			t.Errorf("no such stream in %s: %v", c.dir, err)
		}
		cl.Close()
	}
	// A file that is no image: InternalError, without the server's paths.
	os.WriteFile(filepath.Join(archive, "junk.squashfs"), []byte("not an image"), 0o644)
	_, err := Dial(context.Background(), addr, "junk.squashfs")
	if e, ok := errors.AsType[*Exception](err); !ok || e.Kind != InternalError || strings.Contains(e.Text, archive) {
		t.Errorf("junk image: %v", err)
	}
}

func archiveOf(t *testing.T, out, dir, path string) {
	t.Helper()
	s, err := store.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := squash.Archive(out, []squash.Source{{Stream: s, Path: path}}, squash.Options{}); err != nil {
		t.Fatal(err)
	}
}

// A stream deleted under a waiting request: StreamNotFound; made anew, it
// is served anew. Torn tails answer what is whole.
func TestDeletedAndTorn(t *testing.T) {
	live := t.TempDir()
	dir := filepath.Join(live, "s")
	franzStream(t, dir, "\n", rs(0), []int64{0})
	cl, err := Dial(context.Background(), testServer(t, live, ""), "")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	done := make(chan error, 1)
	go func() {
		_, err := cl.Query(context.Background(), Query{Stream: "s", From: BySeqNum(5), To: BySeqNum(5)})
		done <- err
	}()
	waitFor(t, cl, "s") // the stream is open: the query above is in
	os.RemoveAll(dir)
	if err := <-done; err == nil || err.(*Exception).Kind != StreamNotFound || err.(*Exception).Text != "s" {
		t.Fatalf("waiting on a deleted stream: %v", err)
	}
	franzStream(t, dir, "\n", rs(7, 8), []int64{0}, []int64{1})
	appendTo(t, filepath.Join(dir, "offsets"), le(1000, 5))     // a tuple past payloads
	appendTo(t, filepath.Join(dir, "offsets"), le(2000, 6)[:5]) // half a tuple
	got, err := follow(context.Background(), cl, "s", 2)
	if err != nil || !equal(got, rs(7, 8)) {
		t.Fatalf("made anew: %q, %v", got, err)
	}
	resp, err := cl.Query(context.Background(), Query{Stream: "s", From: BySeqNum(0), To: BySeqNum(-1)})
	if err != nil || resp.S1 != 1 {
		t.Fatalf("torn tail: %+v, %v", resp, err)
	}
	resp.Close()
}

// waitFor returns once the server has opened stream: a query on it answers.
func waitFor(t *testing.T, c *Client, stream string) {
	t.Helper()
	resp, err := c.Query(context.Background(), Query{Stream: stream, From: BySeqNum(0), To: BySeqNum(0)})
	if err != nil {
		t.Fatal(err)
	}
	resp.Close()
}
