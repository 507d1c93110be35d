package store

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// On a full disk a flush fails with ENOSPC, is undone whole, and every
// acknowledged record stays; after space is freed the writer goes on.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	payload := bytes.Repeat([]byte("z"), 3000)
	for _, c := range []struct {
		name   string
		buffer int
		// round appends records, half of them tagged t, and returns how
		// many it acknowledged.
		round func(w *Writer) (int64, error)
	}{
		{"AppendBatch", 0, func(w *Writer) (int64, error) {
			_, err := w.AppendBatch([]Record{{Payload: payload, Index: []int64{Now}, Tags: []string{"t"}}, {Payload: payload, Index: []int64{Now}}})
			return 2, err
		}},
		// Batches of 24 KB are taken whole: a flush is a pwritev of several.
		{"Batch", 64 << 10, func(w *Writer) (int64, error) {
			var b Batch
			for range 5 {
				for k := range 8 {
					b.Add(payload, Now)
					if k%2 == 0 {
						b.Tag("t")
					}
				}
				if _, err := w.Commit(&b); err != nil {
					return 0, err
				}
			}
			return 40, w.Flush()
		}},
	} {
		t.Run(c.name, func(t *testing.T) { testDiskFull(t, c.buffer, c.round) })
	}
}

func testDiskFull(t *testing.T, buffer int, round func(*Writer) (int64, error)) {
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=256k"); err != nil {
		t.Skipf("no tmpfs: %v", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	w, err := OpenWriter(dir+"/s", WriterOptions{Create: true, Indices: []string{"time"}, Buffer: buffer})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var acked int64
	for {
		n, err := round(w)
		if err != nil {
			if !errors.Is(err, unix.ENOSPC) {
				t.Fatalf("want ENOSPC, got %v", err)
			}
			t.Logf("full after %d records: %v", acked, err)
			break
		}
		acked += n
	}
	s, err := OpenDir(dir + "/s")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Check()
	if err != nil || !r.OK() || len(r.Notes) != 0 || r.Records != acked {
		t.Fatalf("after ENOSPC: %+v, %v; %d acknowledged", r, err, acked)
	}
	if n, _ := s.TagCount("t"); n != acked/2 {
		t.Fatalf("tag count %d, want %d", n, acked/2)
	}
	// A buffered writer's failed flush dropped records of calls that had
	// returned: it refuses until reopened (TestDiskFullBufferedCallers).
	if buffer > 0 {
		if _, err := w.Append(Record{Payload: []byte("small"), Index: []int64{Now}}); err == nil {
			t.Fatal("a buffered writer went on after dropping held records")
		}
		w.Close()
		if w, err = OpenWriter(dir+"/s", WriterOptions{Buffer: buffer}); err != nil {
			t.Fatal(err)
		}
		defer w.Close()
	}
	// Free space by writing smaller records: the writer goes on.
	if n, err := w.Append(Record{Payload: []byte("small"), Index: []int64{Now}}); err != nil || n != acked {
		t.Fatalf("append after ENOSPC: %d, %v", n, err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// Records one call appended to a buffered writer and another call's flush
// failed to write are not acknowledged by the first call's Flush: the
// writer refuses until reopened, and reopened it goes on.
func TestDiskFullBufferedCallers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=256k"); err != nil {
		t.Skipf("no tmpfs: %v", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	opts := WriterOptions{Create: true, Indices: []string{"time"}, Buffer: 64 << 10}
	w, err := OpenWriter(dir+"/s", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const acked = 5
	for range acked {
		if _, err := w.Append(Record{Payload: []byte("acknowledged"), Index: []int64{Now}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// All but 32 KiB of the disk taken by something else.
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/other", make([]byte, int64(st.Bavail)*st.Bsize-32<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	// A held record, then another call's record that cannot be written.
	big := bytes.Repeat([]byte("b"), 300<<10)
	if _, err := w.Append(Record{Payload: []byte("a's"), Index: []int64{Now}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append(Record{Payload: big, Index: []int64{Now}}); !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("append past the full disk: %v", err)
	}
	if err := w.Flush(); err == nil {
		t.Fatal("Flush acknowledged a record the failed write dropped")
	}
	w.Close()
	os.Remove(dir + "/other")
	s, err := OpenDir(dir + "/s")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.Count(); err != nil || n != acked {
		t.Fatalf("%d records, %v; %d acknowledged", n, err, acked)
	}
	w, err = OpenWriter(dir+"/s", opts)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := w.Append(Record{Payload: []byte("x"), Index: []int64{Now}}); err != nil || n != acked {
		t.Fatalf("append after reopening: %d, %v", n, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
