package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/franzfs/franzfs/store"
)

// Readers cat range and tag views and the raw payloads while a writer
// appends 100,000 records: every record read equals the record written,
// none is torn, and each view holds exactly its records, in order, as of
// some moment. The raw files are read both by passthrough and by the
// mount's own reads.
func TestMountConcurrentReaders(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	for _, passthrough := range []string{"true", "false"} {
		t.Run("passthrough="+passthrough, func(t *testing.T) {
			concurrentReaders(t, "--passthrough="+passthrough)
		})
	}
}

func concurrentReaders(t *testing.T, mountArgs ...string) {
	const total = 100_000
	live := t.TempDir()
	w, err := store.OpenWriter(filepath.Join(live, "ev"), store.WriterOptions{Create: true, Indices: []string{"time"}, Buffer: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	m := mount(t, append([]string{"--live", live}, mountArgs...)...)

	// Each view, whole: what it reads at any moment is a prefix of this.
	view := func(first int64, in func(int64) bool) string {
		var b strings.Builder
		for i := first; i < total; i++ {
			if in(i) {
				b.WriteString(event(i))
			}
		}
		return b.String()
	}
	all := view(0, func(int64) bool { return true })
	views := []struct {
		path, whole string
		// raw: the file, not a view; a writer's write in progress can
		// show as a torn last record, which offsets does not count yet.
		raw bool
	}{
		{"seq/0:", all, false},
		{"seq/1000:", view(1000, func(int64) bool { return true }), false},
		{"tag/even", view(0, func(i int64) bool { return i%2 == 0 }), false},
		{"query/even+error,error", view(0, func(i int64) bool { return i%10 == 3 }), false},
		{"payloads", all, true},
	}
	// Tags exist from the first batch on: start with one.
	writeEvents(t, w, 0, 1000)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	const readers = 10
	errs := make(chan error, readers)
	var reads atomic.Int64
	for r := range readers {
		v := views[r%len(views)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for last := false; !last; {
				last = done.Load()
				cmd := exec.Command("cat", m.path("ev", v.path))
				cmd.Dir = os.TempDir()
				out, err := cmd.Output()
				if err != nil {
					errs <- fmt.Errorf("cat %s: %v", v.path, err)
					return
				}
				if err := checkPrefix(string(out), v.whole, v.raw); err != nil {
					errs <- fmt.Errorf("cat %s: %v", v.path, err)
					return
				}
				reads.Add(1)
			}
		}()
	}
	for i := int64(1000); i < total; i += 1000 {
		writeEvents(t, w, i, i+1000)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		// Let the readers overlap each growth: a fast writer would
		// otherwise be done before they read twice.
		for seen := reads.Load(); reads.Load() < seen+2 && len(errs) == 0; {
			time.Sleep(100 * time.Microsecond)
		}
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// After the writer: every view whole.
	for _, v := range views {
		out := sh(t, "cat "+m.path("ev", v.path))
		if err := checkPrefix(out, v.whole, false); err != nil {
			t.Errorf("%s at the end: %v", v.path, err)
		}
		if got, want := strings.Count(out, "\n"), strings.Count(v.whole, "\n"); got != want {
			t.Errorf("%s at the end: %d records, want %d", v.path, got, want)
		}
	}
	t.Logf("%d whole-view reads during the appends", reads.Load())
}

// checkPrefix verifies that out is records from the start of whole: in
// order, with none missing, and none torn unless torn is allowed at the end.
func checkPrefix(out, whole string, tornEnd bool) error {
	if strings.HasPrefix(whole, out) && (tornEnd || out == "" || out[len(out)-1] == '\n') {
		return nil
	}
	at := 0
	for at < len(out) && at < len(whole) && out[at] == whole[at] {
		at++
	}
	start := strings.LastIndexByte(whole[:at], '\n') + 1
	end := start + strings.IndexByte(whole[start:], '\n') + 1
	return fmt.Errorf("its record %d: got %.40q, want %q", strings.Count(whole[:start], "\n"), out[start:], whole[start:end])
}
