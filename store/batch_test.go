package store

import (
	"bytes"
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
		if b.Len() != 0 {
			t.Fatalf("Len %d after Commit", b.Len())
		}
	}
	// A refused batch is left as it was, to be mended or dropped.
	b.Add([]byte("late\n"), 1)
	if _, err := w.Commit(&b); !errors.Is(err, ErrBadRecord) || b.Len() != 1 {
		t.Fatalf("commit of a decreasing value: %v, Len %d", err, b.Len())
	}
	b.Reset()
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

// Batches large enough to be taken whole, between single appends and
// refused batches, in a buffered writer whose flushes write many segments:
// every record reads back as written.
func TestBatchTakenWhole(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWriter(dir, WriterOptions{Create: true, Indices: []string{"n"}, Buffer: 200 << 10})
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	payload := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i%26)}, 100+i%3000) }
	var b Batch
	for i := 0; len(want) < 2000; {
		switch i % 3 {
		case 0:
			for b.payloadSize() < takeMin {
				b.Add(payload(len(want)+b.Len()), int64(i))
			}
			for k, base := 0, len(want); k < b.Len(); k++ {
				want = append(want, payload(base+k))
			}
			if _, err := w.Commit(&b); err != nil {
				t.Fatal(err)
			}
		case 1:
			if _, err := w.Append(Record{Payload: payload(len(want)), Index: []int64{int64(i)}}); err != nil {
				t.Fatal(err)
			}
			want = append(want, payload(len(want)))
		case 2:
			recs := []Record{{Payload: payload(1), Index: []int64{int64(i)}}, {Payload: payload(2), Index: []int64{0}}}
			if _, err := w.AppendBatch(recs); !errors.Is(err, ErrBadRecord) {
				t.Fatalf("decreasing batch: %v", err)
			}
		}
		i++
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, _ := s.Count(); n != int64(len(want)) {
		t.Fatalf("count %d, want %d", n, len(want))
	}
	for i, p := range want {
		if got, err := s.Record(int64(i)); err != nil || !bytes.Equal(got, p) {
			t.Fatalf("record %d: %d bytes, %v; want %d", i, len(got), err, len(p))
		}
	}
}
