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
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=256k"); err != nil {
		t.Skipf("no tmpfs: %v", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	w, err := OpenWriter(dir+"/s", WriterOptions{Create: true, Indices: []string{"time"}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	payload := bytes.Repeat([]byte("z"), 3000)
	var acked int64
	for {
		_, err := w.AppendBatch([]Record{{Payload: payload, Index: []int64{Now}, Tags: []string{"t"}}, {Payload: payload, Index: []int64{Now}}})
		if err != nil {
			if !errors.Is(err, unix.ENOSPC) {
				t.Fatalf("want ENOSPC, got %v", err)
			}
			t.Logf("full after %d records: %v", acked, err)
			break
		}
		acked += 2
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
	// Free space by writing smaller records: the writer goes on.
	if n, err := w.Append(Record{Payload: []byte("small"), Index: []int64{Now}}); err != nil || n != acked {
		t.Fatalf("append after ENOSPC: %d, %v", n, err)
	}
}
