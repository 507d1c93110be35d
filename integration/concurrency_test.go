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

	"github.com/franzfs/franzfs/store"
)

// Eight readers cat range and tag views while a writer appends 100,000
// records: every record read equals the record written, none is torn, and
// each view holds exactly its records, in order, as of some moment.
func TestMountConcurrentReaders(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	const total = 100_000
	live := t.TempDir()
	w, err := store.OpenWriter(filepath.Join(live, "ev"), store.WriterOptions{Create: true, Indices: []string{"time"}, Buffer: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	m := mount(t, "--live", live)

	views := []struct {
		path  string
		first int64
		in    func(i int64) bool
	}{
		{"seq/0:", 0, func(int64) bool { return true }},
		{"seq/1000:", 1000, func(int64) bool { return true }},
		{"tag/even", 0, func(i int64) bool { return i%2 == 0 }},
		{"query/even+error,error", 0, func(i int64) bool { return i%10 == 3 }},
	}
	// Tags exist from the first batch on: start with one.
	writeEvents(t, w, 0, 1000)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	var reads atomic.Int64
	for r := range 8 {
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
				if err := checkEvents(string(out), v.first, v.in); err != nil {
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
		if err := checkEvents(out, v.first, v.in); err != nil {
			t.Errorf("%s at the end: %v", v.path, err)
		}
		var n int64
		for i := v.first; i < total; i++ {
			if v.in(i) {
				n++
			}
		}
		if got := int64(strings.Count(out, "\n")); got != n {
			t.Errorf("%s at the end: %d records, want %d", v.path, got, n)
		}
	}
	t.Logf("%d whole-view reads during the appends", reads.Load())
}

// checkEvents verifies that out is the view's records from first on, in
// order, with none missing or torn, up to some record.
func checkEvents(out string, first int64, in func(int64) bool) error {
	next := first
	for len(out) > 0 {
		for !in(next) {
			next++
		}
		want := event(next)
		if !strings.HasPrefix(out, want) {
			return fmt.Errorf("at record %d: got %.40q, want %q", next, out, want)
		}
		out = out[len(want):]
		next++
	}
	return nil
}
