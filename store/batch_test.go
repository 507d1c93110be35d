package store

import (
	"errors"
	"testing"
)

func TestBatchReuse(t *testing.T) {
	w, s := newStream(t, []string{"n"})
	var b Batch
	if err := b.Tag("x"); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("Tag on an empty batch: %v", err)
	}
	if n, err := w.Commit(&b); err != nil || n != 0 {
		t.Fatalf("empty commit: %d, %v", n, err)
	}
	for round := range int64(3) {
		for k := range int64(2) {
			i := round*2 + k
			if err := b.Add(rec(i, nil).Payload, i); err != nil {
				t.Fatal(err)
			}
			if err := b.Tag("x", "x"); err != nil {
				t.Fatal(err)
			}
		}
		if b.Len() != 2 {
			t.Fatalf("Len %d", b.Len())
		}
		if n, err := w.Commit(&b); err != nil || n != round*2 {
			t.Fatalf("commit %d: %d, %v", round, n, err)
		}
		b.Reset()
	}
	for _, path := range []string{"seq/0:", "tag/x"} {
		v, err := s.View(mustParse(t, path))
		if err != nil {
			t.Fatal(err)
		}
		if got := readView(t, v); got != payloadsOf(seqOf(0, 5)...) {
			t.Errorf("%s = %q", path, got)
		}
	}
}
