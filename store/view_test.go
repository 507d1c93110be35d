package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// tenRecords: record i has time 10*i, n = i/3, and tags by divisibility.
func tenRecords(t *testing.T) (*Writer, *Stream) {
	var recs []Record
	for i := int64(0); i < 10; i++ {
		var tags []string
		if i%2 == 0 {
			tags = append(tags, "even")
		}
		if i%3 == 0 {
			tags = append(tags, "three")
		}
		if i == 7 {
			tags = append(tags, "seven")
		}
		recs = append(recs, rec(i, []int64{10 * i, i / 3}, tags...))
	}
	return newStream(t, []string{"time", "n"}, recs...)
}

func TestViews(t *testing.T) {
	_, s := tenRecords(t)
	cases := []struct {
		path  string
		want  []int64
		final bool
	}{
		{"seq/0", []int64{0}, true},
		{"seq/9", []int64{9}, true},
		{"seq/-1", []int64{9}, true},
		{"seq/_1", []int64{9}, true},
		{"seq/-10", []int64{0}, true},
		{"seq/2:4", seqOf(2, 4), true},
		{"seq/3:3", []int64{3}, true},
		{"seq/:4", seqOf(0, 4), true},
		{"seq/7:", seqOf(7, 9), false},
		{"seq/:", seqOf(0, 9), false},
		{"seq/-3:", seqOf(7, 9), false},
		{"seq/-30:", seqOf(0, 9), false},
		{"seq/-3:-2", seqOf(7, 8), true},
		{"seq/_3:_2", seqOf(7, 8), true},
		{"seq/8:12", seqOf(8, 9), false},
		{"seq/20:30", nil, false},
		{"seq/5:-2", seqOf(5, 8), true},
		{"index/time/20:40", seqOf(2, 4), true},
		{"index/time/25:45", seqOf(3, 4), true},
		{"index/time/:15", seqOf(0, 1), true},
		{"index/time/80:", seqOf(8, 9), false},
		{"index/time/90:1000", []int64{9}, false},
		{"index/time/50", []int64{5}, true},
		{"index/time/1000:", nil, false},
		{"index/n/1:2", seqOf(3, 8), true},
		{"index/n/3", []int64{9}, false},
		{"index/n/-5:0", seqOf(0, 2), true},
		{"tag/even", []int64{0, 2, 4, 6, 8}, false},
		{"tag/seven", []int64{7}, false},
		{"query/even+three", []int64{0, 6}, false},
		{"query/seven,three", []int64{0, 3, 6, 7, 9}, false},
		{"query/even+three,seven", []int64{0, 6, 7}, false},
		{"query/even+nosuch,seven", []int64{7}, false},
		{"query/three,even", []int64{0, 2, 3, 4, 6, 8, 9}, false},
		{"seq/3,7,1", []int64{3, 7, 1}, true},
		{"seq/7,7,-1", []int64{7, 7, 9}, true},
		{"seq/1:3,7,_1", []int64{1, 2, 3, 7, 9}, true},
		{"seq/8:,0", []int64{8, 9, 0}, true},
		{"seq/5:30,2,:1", []int64{5, 6, 7, 8, 9, 2, 0, 1}, true},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			v, err := s.View(mustParse(t, c.path))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := readView(t, v), payloadsOf(c.want...); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
			if v.Final() != c.final {
				t.Errorf("final = %v, want %v", v.Final(), c.final)
			}
			checkBoundaries(t, v, c.want)
		})
	}
}

// checkBoundaries checks Boundary at every byte of a view of records recs.
func checkBoundaries(t *testing.T, v View, recs []int64) {
	t.Helper()
	bounds := []int64{0}
	for _, i := range recs {
		bounds = append(bounds, bounds[len(bounds)-1]+int64(len(payloadsOf(i))))
	}
	size := bounds[len(bounds)-1]
	for off := int64(0); off <= size+2; off++ {
		want := size
		if k, _ := slices.BinarySearch(bounds, off); k < len(bounds) {
			want = bounds[k]
		}
		if got, err := v.Boundary(off); got != want || err != nil {
			t.Fatalf("Boundary(%d) = %d, %v; want %d", off, got, err, want)
		}
	}
}

func TestViewsNotFound(t *testing.T) {
	_, s := tenRecords(t)
	for _, p := range []string{"seq/10", "seq/-11", "seq/5:-6", "seq/-2:3", "index/nosuch/1:2", "tag/nosuch", "query/a+b,c",
		"seq/3,10", "seq/1,20:30", "seq/0,-11"} {
		if _, err := s.View(mustParse(t, p)); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", p, err)
		}
	}
}

func TestParsePath(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	good := map[string]Path{
		"seq/5":       {Kind: KindRecord, From: Bound{5, true}},
		"seq/_5":      {Kind: KindRecord, From: Bound{-5, true}},
		"seq/1:2":     {Kind: KindRange, From: Bound{1, true}, To: Bound{2, true}},
		"seq/:":       {Kind: KindRange},
		"seq/-3:":     {Kind: KindRange, From: Bound{-3, true}},
		"payloads":    {Kind: KindFile, File: "payloads"},
		"follow":      {Kind: KindFollow},
		"stat.json":   {Kind: KindStat},
		"tag/a-b_c":   {Kind: KindQuery, Query: Query{{"a-b_c"}}},
		"query/a+b,c": {Kind: KindQuery, Query: Query{{"a", "b"}, {"c"}}},
		"seq/3,17,-1": {Kind: KindList, List: []Path{{Kind: KindRecord, From: Bound{3, true}}, {Kind: KindRecord, From: Bound{17, true}}, {Kind: KindRecord, From: Bound{-1, true}}}},
		"seq/1:3,5:":  {Kind: KindList, List: []Path{{Kind: KindRange, From: Bound{1, true}, To: Bound{3, true}}, {Kind: KindRange, From: Bound{5, true}}}},
	}
	for p, want := range good {
		got, err := ParsePath(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if got.String() != want.String() || got.Kind != want.Kind {
			t.Errorf("%s: got %+v, want %+v", p, got, want)
		}
	}
	bad := []string{"seq/x", "seq/5:2", "seq/-1:-2", "seq/+5", "seq/05", "seq/-0", "seq/1:2:3", "seq/", "seq/ 1",
		"seq/99999999999999999999", "index/time", "index/time/b:c", "index/n/5:1", "index/n/1h:", "index/a b/1:2",
		"tag/", "tag/a+b", "tag/a/b", "query/", "query/a+", "query/,a", "query/a,,b", "nosuch", "payloads/x", "follow/1",
		"index/time/2300-01-01T00:00:00Z:", "index/time/:1600-01-01T00:00:00Z", // past what int64 nanoseconds hold
		"seq/1,", "seq/,1", "seq/1,,2", "seq/1,x", "seq/1,5:2", "seq/" + strings.Repeat("1,", MaxListItems) + "1"}
	for _, p := range bad {
		if _, err := ParsePath(p); !errors.Is(err, ErrBadName) {
			t.Errorf("%s: %v, want ErrBadName", p, err)
		}
	}
	times := []struct {
		rng      string
		from, to int64
	}{
		{rfc3339(now.Add(-time.Hour)) + ":" + rfc3339(now.Add(-30*time.Minute)), now.Add(-time.Hour).UnixNano(), now.Add(-30 * time.Minute).UnixNano()},
		{now.In(time.FixedZone("", 3600)).Format(time.RFC3339) + ":", now.UnixNano(), 0},
		{"-15m:", now.Add(-15 * time.Minute).UnixNano(), 0},
		{"-1h:-30m", now.Add(-time.Hour).UnixNano(), now.Add(-30 * time.Minute).UnixNano()},
		{"-1h:now", now.Add(-time.Hour).UnixNano(), now.UnixNano()},
		{"5:9", 5, 9},
	}
	for _, c := range times {
		p, err := ParseIndexRange("time", c.rng, now)
		if err != nil {
			t.Errorf("%s: %v", c.rng, err)
			continue
		}
		if p.From.V != c.from || p.To.V != c.to {
			t.Errorf("%s: got %d:%d, want %d:%d", c.rng, p.From.V, p.To.V, c.from, c.to)
		}
	}
}

// Open views grow with the stream, by whole records, and never shrink.
func TestViewsGrow(t *testing.T) {
	w, s := tenRecords(t)
	paths := map[string]func(i int64) bool{
		"seq/8:":          func(i int64) bool { return i >= 8 },
		"seq/8:11":        func(i int64) bool { return i >= 8 && i <= 11 },
		"index/time/95:":  func(i int64) bool { return i >= 10 },
		"index/time/:115": func(i int64) bool { return i <= 11 },
		"tag/even":        func(i int64) bool { return i%2 == 0 },
		"query/even,seven": func(i int64) bool {
			return i%2 == 0 || i == 7
		},
	}
	views := map[string]View{}
	for p := range paths {
		v, err := s.View(mustParse(t, p))
		if err != nil {
			t.Fatal(err)
		}
		views[p] = v
	}
	for i := int64(10); i < 15; i++ {
		var tags []string
		if i%2 == 0 {
			tags = []string{"even"}
		}
		if _, err := w.Append(rec(i, []int64{10 * i, i / 3}, tags...)); err != nil {
			t.Fatal(err)
		}
	}
	for p, in := range paths {
		var want []int64
		for i := int64(0); i < 15; i++ {
			if in(i) {
				want = append(want, i)
			}
		}
		if got := readView(t, views[p]); got != payloadsOf(want...) {
			t.Errorf("%s: got %q, want %q", p, got, payloadsOf(want...))
		}
	}
	for _, p := range []string{"seq/8:11", "index/time/:115"} {
		if !views[p].Final() {
			t.Errorf("%s not final once complete", p)
		}
	}
}

func TestFollow(t *testing.T) {
	w, s := tenRecords(t)
	f, err := s.Follow()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan string)
	go func() {
		var all []byte
		buf := make([]byte, 3)
		for len(all) < len(payloadsOf(10, 11, 12)) {
			n, err := f.Read(ctx, buf)
			if err != nil {
				break
			}
			all = append(all, buf[:n]...)
		}
		got <- string(all)
	}()
	for i := int64(10); i < 13; i++ {
		w.Append(rec(i, []int64{10 * i, i / 3}))
	}
	if g := <-got; g != payloadsOf(10, 11, 12) {
		t.Fatalf("followed %q", g)
	}
	// A cancelled follow returns promptly.
	cctx, ccancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); ccancel() }()
	if _, err := f.Read(cctx, make([]byte, 10)); !errors.Is(err, context.Canceled) {
		t.Fatalf("read after cancel: %v", err)
	}
	// Following from a future record starts there.
	f2, _ := s.FollowFrom(14)
	w.Append(rec(13, []int64{130, 4}))
	w.Append(rec(14, []int64{140, 4}))
	buf := make([]byte, 100)
	n, err := f2.Read(ctx, buf)
	if err != nil || string(buf[:n]) != payloadsOf(14) {
		t.Fatalf("follow from 14: %q, %v", buf[:n], err)
	}
}

// Polling finds growth where no inotify event arrives.
func TestWaitPolls(t *testing.T) {
	w, s := tenRecords(t)
	s.dir = "" // no directory to watch: polling alone
	done := make(chan int64)
	go func() {
		n, _ := s.Wait(context.Background(), 10)
		done <- n
	}()
	w.Append(rec(10, []int64{100, 3}))
	select {
	case n := <-done:
		if n != 11 {
			t.Fatalf("woke at %d", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no wake by polling")
	}
}

func TestReadAtPastEnd(t *testing.T) {
	_, s := tenRecords(t)
	v, _ := s.View(mustParse(t, "tag/even"))
	n, _ := v.Size()
	buf := make([]byte, 10)
	if k, err := v.ReadAt(buf, n); k != 0 || err != io.EOF {
		t.Fatalf("at end: %d, %v", k, err)
	}
	// A read across records of a list view.
	k, _ := v.ReadAt(buf[:5], 2)
	if string(buf[:k]) != payloadsOf(0, 2, 4)[2:7] {
		t.Fatalf("across records: %q", buf[:k])
	}
}

func TestScan(t *testing.T) {
	w, s := tenRecords(t)
	for _, c := range []struct {
		path string
		from int64
		want []int64
		next int64
	}{
		{"seq/2:5", 0, seqOf(2, 5), 6},
		{"seq/2:5", 4, seqOf(4, 5), 6},
		{"seq/5:", 0, seqOf(5, 9), 10},
		{"seq/20:", 0, nil, 10},
		{"index/time/30:60", 0, seqOf(3, 6), 7},
		{"tag/even", 3, []int64{4, 6, 8}, 9},
		{"query/seven,three", 0, []int64{0, 3, 6, 7, 9}, 10},
		// In a list, from and next are places in the list.
		{"seq/7,2:4,7", 0, []int64{7, 2, 3, 4, 7}, 5},
		{"seq/7,2:4,7", 2, []int64{3, 4, 7}, 5},
		{"seq/7,2:4,7", 4, []int64{7}, 5},
		{"seq/7,2:4,7", 5, nil, 5},
	} {
		v, err := s.View(mustParse(t, c.path))
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		var bytes string
		next, err := v.Scan(c.from, func(rec int64, p *Payload) error {
			got = append(got, rec)
			bytes += string(p.Inline())
			return nil
		})
		if err != nil || next != c.next || !slices.Equal(got, c.want) || bytes != payloadsOf(c.want...) {
			t.Errorf("%s from %d: %v %q next %d, %v; want %v next %d", c.path, c.from, got, bytes, next, err, c.want, c.next)
		}
	}
	_ = w
}

// Concurrent batches and single appends keep every record and their order
// per caller (the race detector watches the writer's shared buffers).
func TestConcurrentAppends(t *testing.T) {
	w, s := newStream(t, []string{"time"})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				rec := Record{Payload: fmt.Appendf(nil, "%d %d\n", g, i), Index: []int64{Now}}
				var err error
				if i%2 == 0 {
					_, err = w.Append(rec)
				} else {
					_, err = w.AppendBatch([]Record{rec, {Payload: []byte("pad\n"), Index: []int64{Now}}})
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n, _ := s.Count(); n != 4*300 {
		t.Fatalf("%d records", n)
	}
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// A Tagger gives what RecordTags gives, asked in order, out of order and
// again.
func TestTagger(t *testing.T) {
	_, s := tenRecords(t)
	tg, err := s.Tagger()
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range []int64{0, 1, 2, 3, 6, 7, 9, 2, 2, 7, 0, 8} {
		want, err := s.RecordTags(rec)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tg.Tags(rec, nil)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("record %d: %v, %v; want %v", rec, got, err, want)
		}
	}
}

// A Tagger made before a record with a new tag was appended sees the tag.
func TestTaggerNewTags(t *testing.T) {
	w, s := tenRecords(t)
	tg, err := s.Tagger()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append(rec(10, []int64{100, 4}, "even", "aaa-new")); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if got, err := tg.Tags(10, nil); err != nil || !slices.Equal(got, []string{"aaa-new", "even"}) {
		t.Errorf("record 10: %v, %v; want [aaa-new even]", got, err)
	}
}
