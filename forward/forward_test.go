package forward

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/franzfs/franzfs/client"
	"github.com/franzfs/franzfs/franzd"
	"github.com/franzfs/franzfs/ingest"
	"github.com/franzfs/franzfs/store"
)

func TestSamplerEvery(t *testing.T) {
	s := Sampler{Every: 3}
	var kept []int64
	for i := range int64(10) {
		if ok, _ := s.Keep(ingest.FramedRecord{Seq: i}); ok {
			kept = append(kept, i)
		}
	}
	if !slices.Equal(kept, []int64{0, 3, 6, 9}) {
		t.Errorf("every 3: %v", kept)
	}
}

func TestSamplerBucket(t *testing.T) {
	at := func(seq int64, sec int64) ingest.FramedRecord {
		return ingest.FramedRecord{Seq: seq, Index: map[string]int64{store.TimeIndex: sec * int64(time.Second)}}
	}
	s := Sampler{Bucket: 10 * time.Second}
	var kept []int64
	for i, sec := range []int64{-11, -1, 0, 3, 9, 10, 25, 29, 30} {
		if ok, err := s.Keep(at(int64(i), sec)); err != nil {
			t.Fatal(err)
		} else if ok {
			kept = append(kept, sec)
		}
	}
	if !slices.Equal(kept, []int64{-11, -1, 0, 10, 25, 30}) {
		t.Errorf("first of each 10 s: %v", kept)
	}
	// Resumed after the record at 25 s, the next kept is in the next bucket.
	s.Resume(at(6, 25))
	if ok, _ := s.Keep(at(7, 29)); ok {
		t.Error("29 s kept after resuming at 25 s")
	}
	if ok, _ := s.Keep(at(8, 30)); !ok {
		t.Error("30 s not kept after resuming at 25 s")
	}
	if _, err := s.Keep(ingest.FramedRecord{Seq: 9}); err == nil {
		t.Error("a record without time put in a bucket")
	}
}

// daemon serves a live root on a test server.
func daemon(t *testing.T) (*client.Client, string) {
	live := t.TempDir()
	srv, err := ingest.New(ingest.Config{Live: live, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return &client.Client{Base: hs.URL}, live
}

// The target holds exactly the sampled records, with their index values,
// tags and source numbers, across a forwarder stopped and started again
// while the source grows.
func TestForwardResumes(t *testing.T) {
	remote, _ := daemon(t)
	gateway, _ := daemon(t)
	ctx := context.Background()
	const base = int64(1_795_000_000) * int64(time.Second)
	appendN := func(from, to int64) {
		var recs []ingest.BatchRecord
		for i := from; i < to; i++ {
			at := strconv.FormatInt(base+i*int64(time.Second), 10)
			rec := ingest.BatchRecord{Payload: fmt.Appendf(nil, "r%d\n", i), Index: map[string]json.RawMessage{"time": json.RawMessage(at)}}
			if i%2 == 0 {
				rec.Tags = []string{"even"}
			}
			recs = append(recs, rec)
		}
		if _, err := remote.AppendBatch(ctx, "src", recs); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		target string
		sample Sampler
		want   []int64 // source numbers after 100 records, then after 150
	}{
		{"every10", Sampler{Every: 10}, []int64{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140}},
		{"bucket25s", Sampler{Bucket: 25 * time.Second}, []int64{0, 25, 50, 75, 100, 125}},
	} {
		t.Run(c.target, func(t *testing.T) {
			appendN(0, 100)
			defer func() {
				// The next case starts from a fresh source.
				remote.Do(ctx, "DELETE", "src", nil, "", nil)
			}()
			run := func(n int) {
				ctx, cancel := context.WithCancel(ctx)
				done := make(chan error, 1)
				go func() {
					done <- Run(ctx, Config{From: Daemon{remote}, To: gateway, Stream: "src", Target: c.target, Sample: c.sample, Retry: 10 * time.Millisecond})
				}()
				deadline := time.Now().Add(10 * time.Second)
				for len(records(t, gateway, c.target)) < n && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				cancel()
				if err := <-done; err != nil {
					t.Fatalf("Run: %v", err)
				}
			}
			firstRun := 0
			for _, src := range c.want {
				if src < 100 {
					firstRun++
				}
			}
			run(firstRun)
			appendN(100, 150)
			run(len(c.want))
			got := records(t, gateway, c.target)
			if len(got) != len(c.want) {
				t.Fatalf("target holds %d records, want %d", len(got), len(c.want))
			}
			for k, fr := range got {
				src := c.want[k]
				if fr.Index[SourceIndex] != src || fr.Index["time"] != base+src*int64(time.Second) ||
					string(fr.Payload) != fmt.Sprintf("r%d\n", src) || (src%2 == 0) != slices.Contains(fr.Tags, "even") {
					t.Errorf("target record %d: %+v, want source record %d", k, fr, src)
				}
			}
		})
	}
}

// A forwarder started before its source stream exists waits for it.
func TestForwardWaitsForSource(t *testing.T) {
	remote, _ := daemon(t)
	gateway, _ := daemon(t)
	ctx, cancel := context.WithCancel(context.Background())
	var logged strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logged.Write(p)
	}), nil))
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{From: Daemon{remote}, To: gateway, Stream: "later", Target: "later", Retry: 10 * time.Millisecond, Log: log})
	}()
	for waited, deadline := false, time.Now().Add(5*time.Second); !waited; time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		waited = strings.Contains(logged.String(), "source stream later at "+remote.Base+" does not exist (yet)")
		mu.Unlock()
		if !waited && time.Now().After(deadline) {
			t.Fatal("the forwarder did not say it waits for its source")
		}
	}
	if _, err := remote.AppendBatch(ctx, "later", []ingest.BatchRecord{{Payload: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(records(t, gateway, "later")) != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := records(t, gateway, "later"); len(got) != 1 || string(got[0].Payload) != "x" {
		t.Errorf("target: %+v", got)
	}
}

// A target that franzfs forward did not write is refused, not appended to.
func TestForwardRefusesForeignTarget(t *testing.T) {
	remote, _ := daemon(t)
	gateway, _ := daemon(t)
	ctx := context.Background()
	for _, c := range []*client.Client{remote, gateway} {
		if _, err := c.AppendBatch(ctx, "s", []ingest.BatchRecord{{Payload: []byte("x")}}); err != nil {
			t.Fatal(err)
		}
	}
	err := Run(ctx, Config{From: Daemon{remote}, To: gateway, Stream: "s", Target: "s"})
	if err == nil || !strings.Contains(err.Error(), "target stream s at "+gateway.Base+" has no index src: it was not written by franzfs forward") {
		t.Errorf("Run: %v", err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func records(t *testing.T, c *client.Client, name string) []ingest.FramedRecord {
	var out []ingest.FramedRecord
	err := c.Framed(context.Background(), name, "seq/0:", false, func(fr ingest.FramedRecord) error {
		out = append(out, fr)
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return out
}

// From a franzd, records come with their index values, sampled and
// resumed as from a daemon.
func TestForwardFromFranzd(t *testing.T) {
	live := t.TempDir()
	root, err := os.OpenRoot(live)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	srv := franzd.NewServer(franzd.Config{Live: root, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer func() { ln.Close(); srv.Close() }()
	gateway, _ := daemon(t)

	w, err := store.OpenWriter(filepath.Join(live, "app", "src"), store.WriterOptions{Create: true, Indices: []string{"time"}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const base = int64(1_795_000_000) * int64(time.Second)
	appendN := func(from, to int64) {
		for i := from; i < to; i++ {
			if _, err := w.Append(store.Record{Payload: fmt.Appendf(nil, "r%d\n", i), Index: []int64{base + i*int64(time.Second)}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendN(0, 50)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{From: Franzd{Addr: ln.Addr().String(), Dir: "app"}, To: gateway, Stream: "src", Target: "s",
			Sample: Sampler{Every: 10}, Retry: 10 * time.Millisecond})
	}()
	appendN(50, 100)
	deadline := time.Now().Add(10 * time.Second)
	for len(records(t, gateway, "s")) < 10 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := records(t, gateway, "s")
	if len(got) != 10 {
		t.Fatalf("target holds %d records, want 10", len(got))
	}
	for k, fr := range got {
		src := int64(10 * k)
		if fr.Index[SourceIndex] != src || fr.Index["time"] != base+src*int64(time.Second) || string(fr.Payload) != fmt.Sprintf("r%d\n", src) {
			t.Errorf("target record %d: %+v, want source record %d", k, fr, src)
		}
	}
}
