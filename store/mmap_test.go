package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A live stream's files are mapped; one cut short by hand under a reader
// makes its reads fail with ErrCorrupt, where a plain copy would crash
// the process with SIGBUS.
func TestMappedFileCutShort(t *testing.T) {
	var recs []Record
	for i := range int64(10000) {
		recs = append(recs, rec(i, []int64{i}))
	}
	w, s := newStream(t, []string{"time"}, recs...)
	w.Close()
	if got, err := s.Record(9000); err != nil || string(got) != "r9000\n" {
		t.Fatalf("record 9000: %q, %v", got, err)
	}
	if s.pmap == nil || len(s.pmap.data) == 0 {
		t.Fatal("payloads not mapped")
	}
	if err := os.Truncate(filepath.Join(w.Dir(), PayloadsFile), 0); err != nil {
		t.Fatal(err)
	}
	got, err := s.Record(9000)
	if !errors.Is(err, ErrCorrupt) || !errors.Is(err, errFault) {
		t.Fatalf("record 9000 of a payloads file cut short: %q, %v", got, err)
	}
}
