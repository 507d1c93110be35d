package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// openUnder counts this process's descriptors open on files under dir.
func openUnder(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	n := 0
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasPrefix(target, dir+"/") {
			n++
		}
	}
	return n
}

// newWriter makes a stream and its writer, closed at the end of the test.
func newWriter(t *testing.T, sync Sync) (*Writer, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "s")
	w, err := OpenWriter(dir, WriterOptions{Create: true, Sync: sync})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, dir
}

// A writer of a stream with hundreds of tags keeps a bounded number of
// tag files open, under every sync mode, and loses no posting.
func TestWriterTagFilesBounded(t *testing.T) {
	for _, sync := range []Sync{SyncNone, SyncBatch, SyncAlways} {
		t.Run(sync.String(), func(t *testing.T) {
			w, dir := newWriter(t, sync)
			for i := range 300 {
				tags := []string{fmt.Sprintf("t%d", i), "all"}
				if _, err := w.Append(Record{Payload: []byte("x"), Tags: tags}); err != nil {
					t.Fatal(err)
				}
				if n := openUnder(t, filepath.Join(dir, TagsDir)); n > maxOpenTags+2 {
					t.Fatalf("after %d records of distinct tags, %d tag files open, want at most %d", i+1, n, maxOpenTags+2)
				}
			}
			w.Close()
			// Reopened, it learns the tags without holding them open.
			w, err := OpenWriter(dir, WriterOptions{Sync: sync})
			if err != nil {
				t.Fatal(err)
			}
			if n := openUnder(t, filepath.Join(dir, TagsDir)); n != 0 {
				t.Errorf("a reopened writer holds %d tag files open", n)
			}
			if _, err := w.Append(Record{Payload: []byte("y"), Tags: []string{"t7", "all"}}); err != nil {
				t.Fatal(err)
			}
			w.Close()
			s, err := OpenDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for tag, want := range map[string]int64{"all": 301, "t7": 2, "t299": 1} {
				if n, err := s.TagCount(tag); err != nil || n != want {
					t.Errorf("tag %s: %d records, %v; want %d", tag, n, err, want)
				}
			}
			if r, err := s.Check(); err != nil || !r.OK() {
				t.Errorf("check: %+v, %v", r, err)
			}
		})
	}
}

// A batch of many tags, once on disk, leaves no more tag files open than
// the bound, under every sync mode.
func TestWriterTagFilesBoundedAfterBatch(t *testing.T) {
	for _, sync := range []Sync{SyncNone, SyncBatch, SyncAlways} {
		t.Run(sync.String(), func(t *testing.T) {
			w, dir := newWriter(t, sync)
			recs := make([]Record, 500)
			for i := range recs {
				recs[i] = Record{Payload: []byte("x"), Tags: []string{fmt.Sprintf("t%d", i)}}
			}
			if _, err := w.AppendBatch(recs); err != nil {
				t.Fatal(err)
			}
			if n := openUnder(t, filepath.Join(dir, TagsDir)); n > maxOpenTags {
				t.Errorf("after a batch of 500 tags, %d tag files open, want at most %d", n, maxOpenTags)
			}
		})
	}
}

// A reader of a stream with hundreds of tags keeps no more tag files open
// than the bound, whichever views it has read, and still reads them right.
func TestStreamTagFilesBounded(t *testing.T) {
	w, dir := newWriter(t, SyncNone)
	for i := range 300 {
		if _, err := w.Append(Record{Payload: []byte("x"), Tags: []string{fmt.Sprintf("t%d", i), "all"}}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	s, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var views []View // kept alive: a live view must not pin its files
	for i := range 300 {
		p, err := ParsePath(fmt.Sprintf("query/t%d,all", i))
		if err != nil {
			t.Fatal(err)
		}
		v, err := s.View(p)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := v.Size(); err != nil || n != 300 {
			t.Fatalf("query/t%d,all: %d bytes, %v; want 300", i, n, err)
		}
		views = append(views, v)
		if tags, err := s.RecordTags(int64(i)); err != nil || len(tags) != 2 {
			t.Fatalf("record %d: tags %v, %v", i, tags, err)
		}
		if n := openUnder(t, filepath.Join(dir, TagsDir)); n > maxIdleTagFiles {
			t.Fatalf("after %d tag views, %d tag files open, want at most %d", i+1, n, maxIdleTagFiles)
		}
	}
	if _, err := s.Check(); err != nil {
		t.Fatal(err)
	}
	if n := openUnder(t, filepath.Join(dir, TagsDir)); n > maxIdleTagFiles {
		t.Errorf("after check, %d tag files open, want at most %d", n, maxIdleTagFiles)
	}
	s.Close()
	if n := openUnder(t, dir); n != 0 {
		t.Errorf("a closed stream holds %d files open", n)
	}
}
