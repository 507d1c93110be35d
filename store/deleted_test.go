package store

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A writer notices that its stream was deleted, and says so rather than
// acknowledge a record into the deleted files; a follower ends.
func TestDeletedStream(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s")
	w, err := OpenWriter(dir, WriterOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Append(Record{Payload: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	s, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Deleted() {
		t.Errorf("Deleted before the deletion")
	}
	os.RemoveAll(dir)
	if _, err := w.Append(Record{Payload: []byte("b")}); !errors.Is(err, ErrDeleted) {
		t.Errorf("append into a deleted stream: %v, want ErrDeleted", err)
	}
	if !w.Broken() || !s.Deleted() {
		t.Errorf("Broken %v, Deleted %v after the deletion", w.Broken(), s.Deleted())
	}
}

// A stream that cannot be made leaves nothing of it behind: here its
// payloads is a FIFO someone planted.
func TestFailedCreateLeavesNothing(t *testing.T) {
	live := t.TempDir()
	root, err := OpenRoot(live)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	os.MkdirAll(filepath.Join(live, "s"), 0o755)
	if err := syscall.Mkfifo(filepath.Join(live, "s", PayloadsFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenWriterIn(root, "s", WriterOptions{Create: true, Indices: []string{"time"}}); !errors.Is(err, ErrUnsafe) {
		t.Fatalf("create over a FIFO: %v, want ErrUnsafe", err)
	}
	entries, _ := os.ReadDir(filepath.Join(live, "s"))
	if len(entries) != 1 || entries[0].Name() != PayloadsFile {
		t.Errorf("a failed create left %v", entries)
	}
}
