package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each damage a crash can leave is cut on open, nothing visible is lost,
// and the writer continues.
func TestRepair(t *testing.T) {
	cases := []struct {
		name   string
		damage func(dir string)
		notes  string
	}{
		{"partial tuple", func(dir string) { appendFile(dir, "offsets", words(99)[:5]) }, "unfinished tuple"},
		{"payload tail", func(dir string) { appendFile(dir, "payloads", []byte("torn")) }, "past the last record"},
		{"tuple past payloads", func(dir string) { appendFile(dir, "offsets", words(1000, 1000, 1000)) }, "past the"},
		{"posting past records", func(dir string) { appendFile(dir, "tags/even", words(12)) }, "not yet written"},
		{"partial posting", func(dir string) { appendFile(dir, "tags/even", []byte{1, 2}) }, "unfinished posting"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, s := tenRecords(t)
			w.Close()
			c.damage(w.Dir())
			if n, _ := s.Count(); n != 10 {
				t.Fatalf("reader counts %d records of a damaged stream", n)
			}
			r, err := s.Check()
			if err != nil || !r.OK() || !strings.Contains(strings.Join(r.Notes, "; "), c.notes) {
				t.Fatalf("check before repair: %+v, %v", r, err)
			}
			w, err = OpenWriter(w.Dir(), WriterOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if n, err := w.Append(rec(10, []int64{100, 3}, "even")); err != nil || n != 10 {
				t.Fatalf("append after repair: %d, %v", n, err)
			}
			s2, _ := OpenDir(w.Dir())
			defer s2.Close()
			r, err = s2.Check()
			if err != nil || !r.OK() || len(r.Notes) != 0 || r.Records != 11 {
				t.Fatalf("check after repair: %+v, %v", r, err)
			}
			v, _ := s2.View(mustParse(t, "seq/:"))
			if got := readView(t, v); got != payloadsOf(seqOf(0, 10)...) {
				t.Fatalf("records after repair: %q", got)
			}
		})
	}
}

func TestCheckFindsProblems(t *testing.T) {
	cases := []struct {
		name   string
		damage func(dir string)
		want   string
	}{
		{"end decreases", func(dir string) { writeAt(dir, "offsets", 2*8, words(1)) }, "record 2: end offset 1 (offsets byte 16)"},
		{"postings out of order", func(dir string) { writeAt(dir, "tags/even", 8, words(0)) }, "tags/even: posting 1 (byte 8)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, s := tenRecords(t)
			w.Close()
			if c.name == "end decreases" {
				s, w = rewriteNoIndex(t)
			}
			c.damage(w.Dir())
			r, err := s.Check()
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() || !strings.HasPrefix(r.Problems[0], c.want) {
				t.Fatalf("problems %q, want %q first", r.Problems, c.want)
			}
		})
	}
}

// rewriteNoIndex makes a ten-record stream without indices.
func rewriteNoIndex(t *testing.T) (*Stream, *Writer) {
	var recs []Record
	for i := int64(0); i < 10; i++ {
		recs = append(recs, rec(i, nil))
	}
	w, s := newStream(t, []string{"time"}[:0], recs...)
	w.Close()
	return s, w
}

func appendFile(dir, name string, data []byte) {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		panic(err)
	}
	f.Write(data)
	f.Close()
}

func writeAt(dir, name string, off int64, data []byte) {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY, 0)
	if err != nil {
		panic(err)
	}
	f.WriteAt(data, off)
	f.Close()
}
