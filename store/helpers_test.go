package store

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// newStream creates a stream in a temporary directory with the given
// indices and records, and opens it for reading.
func newStream(t testing.TB, indices []string, recs ...Record) (*Writer, *Stream) {
	t.Helper()
	dir := t.TempDir()
	w, err := OpenWriter(dir, WriterOptions{Create: true, Indices: indices})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if len(recs) > 0 {
		if _, err := w.AppendBatch(recs); err != nil {
			t.Fatal(err)
		}
	}
	s, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return w, s
}

// rec is a record whose payload names its number: "r7\n".
func rec(i int64, values []int64, tags ...string) Record {
	return Record{Payload: fmt.Appendf(nil, "r%d\n", i), Index: values, Tags: tags}
}

// payloadsOf is the concatenation rec would give for records nums.
func payloadsOf(nums ...int64) string {
	var b bytes.Buffer
	for _, i := range nums {
		fmt.Fprintf(&b, "r%d\n", i)
	}
	return b.String()
}

func seqOf(first, last int64) []int64 {
	var out []int64
	for i := first; i <= last; i++ {
		out = append(out, i)
	}
	return out
}

// readView reads a whole view as of its current size.
func readView(t testing.TB, v View) string {
	t.Helper()
	n, err := v.Size()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, n)
	got, err := v.ReadAt(buf, 0)
	if err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if int64(got) != n {
		t.Fatalf("read %d of %d bytes", got, n)
	}
	return string(buf)
}
