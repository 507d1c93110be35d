package store

import (
	"errors"
	"os"
	"path/filepath"
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
