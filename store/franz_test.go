package store

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// franzStream lays a stream out as franz's writer does (FRANZD.md section
// 8): indices as given, payloads concatenated, one tuple per record of its
// end and values; no lock, no tags.
func franzStream(t *testing.T, indices string, payloads []string, values ...[]int64) string {
	t.Helper()
	dir := t.TempDir()
	var p, o []byte
	for i, payload := range payloads {
		p = append(p, payload...)
		o = append(o, words(int64(len(p)))...)
		o = append(o, words(values[i]...)...)
	}
	for name, data := range map[string][]byte{IndicesFile: []byte(indices), PayloadsFile: p, OffsetsFile: o} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func openFranz(t *testing.T, dir string) *Stream {
	t.Helper()
	s, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func viewText(t *testing.T, s *Stream, path string) string {
	t.Helper()
	v, err := s.View(mustParse(t, path))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return readView(t, v)
}

// Index names are split on \n exactly as franz splits them.
func TestFranzIndexNames(t *testing.T) {
	for _, c := range []struct {
		indices string
		want    []string
	}{
		{"", nil},
		{"\n", []string{""}}, // franz's writer for Identity ""
		{"a\n\nb\n", []string{"a", "", "b"}},
		{"a\n\nb", []string{"a", "", "b"}},
		{"time\r\n", []string{"time\r"}},
		{"\n\n", []string{"", ""}},
		{"a\na\n", []string{"a", "a"}},
	} {
		values := make([]int64, len(c.want))
		s := openFranz(t, franzStream(t, c.indices, []string{"x\n", "yz\n"}, values, values))
		if got := s.Indices(); !slices.Equal(got, c.want) {
			t.Errorf("indices %q: names %q, want %q", c.indices, got, c.want)
		}
		if n, err := s.Count(); n != 2 || err != nil {
			t.Errorf("indices %q: %d records, %v; want 2", c.indices, n, err)
		}
		if got := viewText(t, s, "seq/:"); got != "x\nyz\n" {
			t.Errorf("indices %q: seq/: = %q", c.indices, got)
		}
		if r, err := s.Check(); err != nil || !r.OK() || r.Records != 2 || len(r.Notes) != 0 {
			t.Errorf("indices %q: check %+v, %v", c.indices, r, err)
		}
	}
}

// franz's unnamed index is index/%/ in paths; a name that is not a tag is
// spelled with escapes, and each name has one spelling.
func TestIndexPathName(t *testing.T) {
	for name, spelled := range map[string]string{
		"time": "time", "": "%", "time\r": "%time%0D", "a b/c": "%a%20b%2Fc", "%": "%%25", ".": "%%2E",
	} {
		if got := IndexPathName(name); got != spelled {
			t.Errorf("IndexPathName(%q) = %q, want %q", name, got, spelled)
		}
		if got, err := ParseIndexPathName(spelled); got != name || err != nil {
			t.Errorf("ParseIndexPathName(%q) = %q, %v; want %q", spelled, got, err, name)
		}
	}
	for _, bad := range []string{"%time", "%a%62", "%%0d", "%%0", "%%", "%a.b", "a.b", "%%G0"} {
		if got, err := ParseIndexPathName(bad); err == nil {
			t.Errorf("ParseIndexPathName(%q) = %q, want an error", bad, got)
		}
	}
	s := openFranz(t, franzStream(t, "\n", []string{"a\n", "b\n", "c\n"}, []int64{10}, []int64{20}, []int64{30}))
	if got := viewText(t, s, "index/%/15:30"); got != "b\nc\n" {
		t.Errorf("index/%%/15:30 = %q", got)
	}
	if p := mustParse(t, "index/%/15:30"); p.String() != "index/%/15:30" || p.Index != "" {
		t.Errorf("parsed %+v, prints %s", p, p)
	}
	// A name given twice means the later one, as to franz.
	s = openFranz(t, franzStream(t, "a\na\n", []string{"x\n", "y\n"}, []int64{1, 5}, []int64{2, 6}))
	if got := viewText(t, s, "index/a/6:6"); got != "y\n" {
		t.Errorf("index/a/6:6 on a twice-named index = %q", got)
	}
}

// A franz stream whose index decreases is valid: every view works, and
// ranges on that index give exactly the records with values in range.
func TestUnsortedIndex(t *testing.T) {
	vals := []int64{5, 1, 7, 3, 9}
	var payloads []string
	var values [][]int64
	for i, v := range vals {
		payloads = append(payloads, string(rune('a'+i))+"\n")
		values = append(values, []int64{int64(i), v})
	}
	dir := franzStream(t, "seq\nv\n", payloads, values...)
	s := openFranz(t, dir)
	for path, want := range map[string]string{
		"index/v/2:8":   "a\nc\nd\n",
		"index/v/:3":    "b\nd\n",
		"index/v/7:":    "c\ne\n",
		"index/v/9":     "e\n",
		"index/v/6:6":   "",
		"index/seq/1:2": "b\nc\n",
		"seq/1:3":       "b\nc\nd\n",
		"seq/4,0":       "e\na\n",
	} {
		if got := viewText(t, s, path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	r, err := s.Check()
	if err != nil || !r.OK() || r.Records != 5 || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], `index "v" is not sorted: record 1`) {
		t.Fatalf("check: %+v, %v", r, err)
	}
	st, err := s.Stat()
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(st.Indices)
	if want := `[{"name":"seq","first":0,"last":4,"sorted":true},{"name":"v","first":5,"last":9,"sorted":false}]`; string(js) != want {
		t.Errorf("stat indices %s, want %s", js, want)
	}

	// An open range grows with records a franz writer appends, in record
	// order, whatever their values.
	v, err := s.View(mustParse(t, "index/v/4:"))
	if err != nil {
		t.Fatal(err)
	}
	if got := readView(t, v); got != "a\nc\ne\n" {
		t.Fatalf("index/v/4: = %q", got)
	}
	appendFile(dir, PayloadsFile, []byte("f\ng\n"))
	appendFile(dir, OffsetsFile, words(12, 5, 2, 14, 6, 4))
	if got := readView(t, v); got != "a\nc\ne\ng\n" || v.Final() {
		t.Fatalf("index/v/4: after appends = %q (final %v)", got, v.Final())
	}
	if sorted, err := s.IndexSorted(0, 7); !sorted || err != nil {
		t.Errorf("index seq sorted = %v, %v", sorted, err)
	}
}

// A sorted index turns unsorted when a franz writer appends a smaller value.
func TestIndexTurnsUnsorted(t *testing.T) {
	dir := franzStream(t, "v\n", []string{"a\n", "b\n"}, []int64{1}, []int64{2})
	s := openFranz(t, dir)
	if sorted, err := s.IndexSorted(0, 2); !sorted || err != nil {
		t.Fatalf("sorted = %v, %v", sorted, err)
	}
	appendFile(dir, PayloadsFile, []byte("c\n"))
	appendFile(dir, OffsetsFile, words(6, 0))
	if got := viewText(t, s, "index/v/0:1"); got != "a\nc\n" {
		t.Errorf("index/v/0:1 = %q", got)
	}
}
