package store

import (
	"errors"
	"testing"
	"testing/fstest"
	"time"
)

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"seq/5", "seq/-1", "seq/_3:", "seq/:4", "seq/1:2", "index/time/-15m:", "index/time/1999-12-31T23:00:00+01:00:now",
		"index/n/1:2", "tag/a", "query/a+b,c", "follow", "stat.json", "payloads", "seq/9223372036854775807", "seq/-9223372036854775808"} {
		f.Add(s)
	}
	now := time.Unix(1e9, 0)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			if !errors.Is(err, ErrBadName) {
				t.Fatalf("%q: error without ErrBadName: %v", s, err)
			}
			return
		}
		// What parses prints back to something that parses the same.
		if p.Kind != KindIndex {
			q, err := ParsePath(p.String())
			if err != nil || q.String() != p.String() {
				t.Fatalf("%q -> %q -> %v, %v", s, p, q, err)
			}
		}
		_, _ = ParseIndexRange("time", s, now)
	})
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"a", "a+b", "a,b", "error+db,panic", "a+b+c,d+e", ",", "+", "a,,b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQuery(s)
		if err != nil {
			return
		}
		if q.String() != s {
			t.Fatalf("%q prints as %q", s, q)
		}
	})
}

// FuzzOpenStream reads streams of arbitrary bytes: whatever the files hold,
// reading and checking them returns data or an error, never a panic or hang.
func FuzzOpenStream(f *testing.F) {
	f.Add([]byte("helloworld!"), words(5, 100, 10, 100, 11, 250), []byte("t\n"), words(0, 2), "tag/a")
	f.Add([]byte("ab"), words(1, 5, 0, 3), []byte("t\n"), words(1, 0), "index/t/1:4")
	f.Add([]byte(""), []byte{1, 2, 3}, []byte(""), []byte{}, "seq/:")
	f.Add([]byte("x"), words(-5), []byte(""), words(-1), "seq/0")
	f.Add([]byte("xyz"), words(2, 1, 3), []byte("\n"), words(7, 7), "query/a,b")
	f.Fuzz(func(t *testing.T, payloads, offsets, indices, tag []byte, view string) {
		fsys := fstest.MapFS{
			"payloads": {Data: payloads},
			"offsets":  {Data: offsets},
			"indices":  {Data: indices},
			"tags/a":   {Data: tag},
		}
		s, err := OpenFS(fsys, "fuzz")
		if err != nil {
			return
		}
		defer s.Close()
		n, err := s.Count()
		if err != nil {
			return
		}
		for _, i := range []int64{0, n / 2, n - 1} {
			s.Record(i)
			s.IndexValue(0, i)
		}
		if len(s.indices) > 0 {
			s.SearchIndex(0, 3, n)
		}
		s.Stat()
		s.Check()
		if p, err := ParsePath(view); err == nil {
			if v, err := s.View(p); err == nil {
				sz, _ := v.Size()
				buf := make([]byte, min(sz, 1<<16))
				v.ReadAt(buf, 0)
			}
		}
	})
}
