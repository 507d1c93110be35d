package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func words(vs ...int64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	return b
}

// A stream written byte by byte from SPEC section 1 reads back as the SPEC says.
func TestReadHandWrittenStream(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{
		"payloads": []byte("helloworld!"),
		// ends 5, 10, 11; index t: 100, 100, 250
		"offsets": words(5, 100, 10, 100, 11, 250),
		"indices": []byte("t\n"),
		"tags/a":  words(0, 2),
	}
	for name, data := range files {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, _ := s.Count(); n != 3 {
		t.Fatalf("count %d, want 3", n)
	}
	for i, want := range []string{"hello", "world", "!"} {
		got, err := s.Record(int64(i))
		if err != nil || string(got) != want {
			t.Errorf("record %d = %q, %v; want %q", i, got, err, want)
		}
	}
	if v, _ := s.IndexValue(0, 2); v != 250 {
		t.Errorf("index value of record 2 = %d", v)
	}
	for _, c := range []struct {
		x    int64
		want int64
	}{{0, 0}, {100, 0}, {101, 2}, {250, 2}, {251, 3}} {
		if got, _ := s.SearchIndex(0, c.x, 3); got != c.want {
			t.Errorf("SearchIndex(%d) = %d, want %d", c.x, got, c.want)
		}
	}
	v, err := s.View(mustParse(t, "tag/a"))
	if err != nil {
		t.Fatal(err)
	}
	if got := readView(t, v); got != "hello!" {
		t.Errorf("tag/a = %q", got)
	}
}

// appendWays are the ways to append records, all or none, that must give
// the same stream and the same refusals.
var appendWays = []struct {
	name   string
	append func(w *Writer, recs []Record) (int64, error)
}{
	{"Append", func(w *Writer, recs []Record) (int64, error) {
		if len(recs) != 1 {
			return w.AppendBatch(recs) // one by one would not be all or none
		}
		return w.Append(recs[0])
	}},
	{"AppendBatch", (*Writer).AppendBatch},
	{"Batch", func(w *Writer, recs []Record) (int64, error) {
		var b Batch
		for _, r := range recs {
			if err := b.Add(r.Payload, r.Index...); err != nil {
				return 0, err
			}
			if len(r.Tags) > 0 {
				if err := b.Tag(r.Tags...); err != nil {
					return 0, err
				}
			}
		}
		return w.Commit(&b)
	}},
}

// The writer's bytes on disk are exactly the format's, whichever way the
// records came.
func TestWriterBytesOnDisk(t *testing.T) {
	for _, way := range appendWays {
		t.Run(way.name, func(t *testing.T) { testWriterBytesOnDisk(t, way.append) })
	}
}

func testWriterBytesOnDisk(t *testing.T, appendRecs func(*Writer, []Record) (int64, error)) {
	dir := t.TempDir()
	w, err := OpenWriter(dir, WriterOptions{Create: true, Indices: []string{"time", "seq"}})
	if err != nil {
		t.Fatal(err)
	}
	recs := []Record{
		{Payload: []byte("ab"), Index: []int64{7, -3}, Tags: []string{"x"}},
		{Payload: []byte(""), Index: []int64{7, 9}},
		{Payload: []byte("cde"), Index: []int64{8, 9}, Tags: []string{"y", "x", "x"}},
	}
	if n, err := appendRecs(w, recs[:1]); err != nil || n != 0 {
		t.Fatalf("append 0: %d, %v", n, err)
	}
	if n, err := appendRecs(w, recs[1:]); err != nil || n != 1 {
		t.Fatalf("append 1 and 2: %d, %v", n, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{
		"payloads": []byte("abcde"),
		"offsets":  words(2, 7, -3, 2, 7, 9, 5, 8, 9),
		"indices":  []byte("time\nseq\n"),
		"tags/x":   words(0, 2),
		"tags/y":   words(2),
	}
	for name, data := range want {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s = %x, %v; want %x", name, got, err, data)
		}
	}
}

func TestWriterRefuses(t *testing.T) {
	for _, way := range appendWays {
		t.Run(way.name, func(t *testing.T) { testWriterRefuses(t, way.append) })
	}
}

func testWriterRefuses(t *testing.T, appendRecs func(*Writer, []Record) (int64, error)) {
	w, s := newStream(t, []string{"time", "n"}, Record{Payload: []byte("a"), Index: []int64{10, 10}})
	cases := []struct {
		name string
		recs []Record
	}{
		{"decreasing index", []Record{{Index: []int64{9, 10}}}},
		{"decreasing later in batch", []Record{{Index: []int64{10, 11}}, {Index: []int64{10, 10}}}},
		{"decreasing after Now", []Record{{Index: []int64{Now, 11}}, {Index: []int64{11, 11}}}},
		{"too few values", []Record{{Index: []int64{10}}}},
		{"too many values", []Record{{Index: []int64{10, 10, 10}}}},
		{"too few values later in batch", []Record{{Index: []int64{10, 10}}, {Index: []int64{10}}}},
		{"bad tag", []Record{{Index: []int64{11, 11}, Tags: []string{"a b"}}}},
		{"bad tag later in batch", []Record{{Index: []int64{11, 11}}, {Index: []int64{11, 11}, Tags: []string{"ok", "a/b"}}}},
		{"empty tag", []Record{{Index: []int64{11, 11}, Tags: []string{""}}}},
		{"long tag", []Record{{Index: []int64{11, 11}, Tags: []string{string(bytes.Repeat([]byte("a"), 129))}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := appendRecs(w, c.recs)
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("got %v, want ErrBadRecord", err)
			}
			if n, _ := s.Count(); n != 1 {
				t.Fatalf("count %d after refused batch", n)
			}
		})
	}
	// The writer goes on after refusals, from the last good values, with
	// no posting of a refused record left behind.
	if n, err := appendRecs(w, []Record{{Payload: []byte("b"), Index: []int64{10, 10}}}); err != nil || n != 1 {
		t.Fatalf("append after refusals: %d, %v", n, err)
	}
	if tags, err := s.Tags(); err != nil || len(tags) != 0 {
		t.Fatalf("tags after refusals: %q, %v", tags, err)
	}
}

func TestTimeStamped(t *testing.T) {
	w, s := newStream(t, []string{"time"})
	w.Append(Record{Index: []int64{1 << 62}})
	if _, err := w.Append(Record{Index: []int64{Now}}); err != nil {
		t.Fatal(err)
	}
	// The stamp never goes below the previous value.
	if v, _ := s.IndexValue(0, 1); v != 1<<62 {
		t.Fatalf("stamped %d", v)
	}
}

func TestNames(t *testing.T) {
	good := []string{"a", "app/events", "a.b-c_d", "x/y/z", string(bytes.Repeat([]byte("a"), 255))}
	bad := []string{"", "/a", "a/", "a//b", "..", "a/../b", ".hidden", "a/.b", "a b", "a\x00b", "a\nb", "é", string(bytes.Repeat([]byte("a"), 256))}
	for _, n := range good {
		if err := ValidStreamName(n); err != nil {
			t.Errorf("%q refused: %v", n, err)
		}
	}
	for _, n := range bad {
		if err := ValidStreamName(n); err == nil {
			t.Errorf("%q accepted", n)
		}
	}
}

func TestSecondWriterLocked(t *testing.T) {
	w, _ := newStream(t, nil)
	_, err := OpenWriter(w.Dir(), WriterOptions{})
	if err == nil {
		t.Fatal("second writer opened")
	}
	if !bytes.Contains([]byte(err.Error()), []byte("pid ")) {
		t.Errorf("error does not name the holder: %v", err)
	}
	w.Close()
	w2, err := OpenWriter(w.Dir(), WriterOptions{})
	if err != nil {
		t.Fatalf("after close: %v", err)
	}
	w2.Close()
}

func TestOpenMissing(t *testing.T) {
	if _, err := OpenWriter(t.TempDir()+"/none", WriterOptions{}); err == nil {
		t.Fatal("opened a missing stream")
	}
}

func mustParse(t testing.TB, p string) Path {
	t.Helper()
	path, err := ParsePath(p)
	if err != nil {
		t.Fatal(err)
	}
	return path
}
