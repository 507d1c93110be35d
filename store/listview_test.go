package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// A tag view of thousands of records, some of them large, reads as the
// concatenation of its records whatever the pieces it is read in, scans
// record by record, and knows its record boundaries: across the chunks
// of found records, the runs refresh reads offsets in and the buffers a
// scan fills, from the mapping and through windows alike.
func TestListViewPieces(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var recs []Record
	var want []byte
	var tagged []int64
	for i := range int64(5000) {
		size := 1 + rng.IntN(200)
		switch i {
		case 10, 2500:
			size = 300 << 10 // over half a scan buffer
		case 4000:
			size = maxInline + 1 // left in payloads by scans
		}
		payload := bytes.Repeat([]byte{byte('a' + i%26)}, size)
		var tags []string
		if i%3 != 1 || i == 4000 {
			tags = []string{"t"}
			tagged = append(tagged, i)
			want = append(want, payload...)
		}
		recs = append(recs, Record{Payload: payload, Index: []int64{i}, Tags: tags})
	}
	w, s := newStream(t, []string{"time"}, recs...)
	w.Close()
	for _, mapped := range []bool{true, false} {
		t.Run(fmt.Sprint("mapped=", mapped), func(t *testing.T) {
			if !mapped {
				s.pmap.close()
				s.omap.close()
				s.pmap, s.omap = nil, nil // read as a stream in an archive is
			}
			v, err := s.View(mustParse(t, "tag/t"))
			if err != nil {
				t.Fatal(err)
			}
			if got := readView(t, v); got != string(want) {
				t.Fatalf("whole view: %d bytes, want %d", len(got), len(want))
			}
			for range 200 {
				off := rng.Int64N(int64(len(want)))
				p := make([]byte, 1+rng.IntN(400<<10))
				n, err := v.ReadAt(p, off)
				end := min(off+int64(len(p)), int64(len(want)))
				if n != int(end-off) || (end < off+int64(len(p))) != (err == io.EOF) || err != nil && err != io.EOF {
					t.Fatalf("%d bytes at %d: %d, %v", len(p), off, n, err)
				}
				if !bytes.Equal(p[:n], want[off:end]) {
					t.Fatalf("%d bytes at %d differ", len(p), off)
				}
				b, err := v.Boundary(off)
				if err != nil {
					t.Fatal(err)
				}
				ends := recordEnds(recs, tagged)
				if k, ok := slices.BinarySearch(ends, b); !ok || b < off || k > 0 && ends[k-1] >= off {
					t.Fatalf("boundary at %d: %d, not the first record end at or after it", off, b)
				}
			}
			for _, from := range []int64{0, 9, 11, 2499, 4000, 4001, 5000} {
				var got []byte
				var seen []int64
				next, err := v.Scan(from, func(rec int64, p *Payload) error {
					seen = append(seen, rec)
					b, err := p.Bytes()
					got = append(got, b...)
					return err
				})
				k, _ := slices.BinarySearch(tagged, from)
				if err != nil || next != max(from, tagged[len(tagged)-1]+1) || !slices.Equal(seen, tagged[k:]) {
					t.Fatalf("scan from %d: next %d, %d records, %v", from, next, len(seen), err)
				}
				if skip := len(want) - len(got); skip < 0 || !bytes.Equal(got, want[skip:]) {
					t.Fatalf("scan from %d: bytes differ", from)
				}
			}
		})
	}
}

// recordEnds returns where each of the records nums ends in their
// concatenation.
func recordEnds(recs []Record, nums []int64) []int64 {
	ends := make([]int64, len(nums))
	at := int64(0)
	for k, i := range nums {
		at += int64(len(recs[i].Payload))
		ends[k] = at
	}
	return ends
}

// A tag view's reads of a payloads file cut short under the mapping fail
// with ErrCorrupt; they do not crash.
func TestListViewFileCutShort(t *testing.T) {
	var recs []Record
	for i := range int64(10000) {
		recs = append(recs, rec(i, []int64{i}, "t"))
	}
	w, s := newStream(t, []string{"time"}, recs...)
	w.Close()
	v, err := s.View(mustParse(t, "tag/t"))
	if err != nil {
		t.Fatal(err)
	}
	size, err := v.Size()
	if err != nil {
		t.Fatal(err)
	}
	if got := readView(t, v); got != payloadsOf(seqOf(0, 9999)...) {
		t.Fatal("tag/t differs from the records")
	}
	if err := os.Truncate(filepath.Join(w.Dir(), PayloadsFile), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := v.ReadAt(make([]byte, 100), size-100); !errors.Is(err, ErrCorrupt) || !errors.Is(err, errFault) {
		t.Fatalf("ReadAt: %v", err)
	}
	_, err = v.Scan(0, func(int64, *Payload) error { return nil })
	if !errors.Is(err, ErrCorrupt) || !errors.Is(err, errFault) {
		t.Fatalf("Scan: %v", err)
	}
}

// A list in seq/ of records scattered over the stream, ranges among them,
// reads as their concatenation in the order named, whatever the pieces,
// from the mapping and through plain reads alike.
func TestPickPieces(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	var recs []Record
	for i := range int64(20000) {
		recs = append(recs, Record{Payload: bytes.Repeat([]byte{byte('a' + i%26)}, 1+rng.IntN(100)), Index: []int64{i}})
	}
	w, s := newStream(t, []string{"time"}, recs...)
	w.Close()
	var list []string
	var want []byte
	for range 300 {
		first := rng.Int64N(20000)
		last := min(first+rng.Int64N(3)*rng.Int64N(50), 19999)
		if first == last {
			list = append(list, fmt.Sprint(first-20000*rng.Int64N(2))) // from the end, at times
		} else {
			list = append(list, fmt.Sprintf("%d:%d", first, last))
		}
		for i := first; i <= last; i++ {
			want = append(want, recs[i].Payload...)
		}
	}
	path := mustParse(t, "seq/"+strings.Join(list, ","))
	for _, mapped := range []bool{true, false} {
		if !mapped {
			s.pmap.close()
			s.omap.close()
			s.pmap, s.omap = nil, nil
		}
		v, err := s.View(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := readView(t, v); got != string(want) {
			t.Fatalf("mapped %v: the list differs from its records", mapped)
		}
		for range 100 {
			off := rng.Int64N(int64(len(want)))
			p := make([]byte, 1+rng.IntN(4000))
			n, err := v.ReadAt(p, off)
			end := min(off+int64(len(p)), int64(len(want)))
			if n != int(end-off) || !bytes.Equal(p[:n], want[off:end]) || (end < off+int64(len(p))) != (err == io.EOF) {
				t.Fatalf("mapped %v: %d bytes at %d: %d, %v", mapped, len(p), off, n, err)
			}
		}
	}
}

// A tag view read while its stream grows gives whole records, each time a
// prefix of the final view, as its list of records grows under readers.
func TestListViewGrowsUnderReaders(t *testing.T) {
	w, s := newStream(t, []string{"time"})
	v, err := s.View(mustParse(t, "tag/t"))
	if err == nil {
		t.Fatal("a view of a tag no record has yet")
	}
	if _, err := w.Append(rec(0, []int64{0}, "t")); err != nil {
		t.Fatal(err)
	}
	if v, err = s.View(mustParse(t, "tag/t")); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	want := payloadsOf(seqOf(0, n-1)...)
	done, failed := make(chan error, 1), make(chan struct{})
	go func() {
		for i := int64(1); i < n; i++ {
			if _, err := w.Append(rec(i, []int64{i}, "t")); err != nil {
				close(failed)
				done <- err
				return
			}
		}
		done <- nil
	}()
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				size, err := v.Size()
				if err != nil {
					t.Error(err)
					return
				}
				buf := make([]byte, size)
				if k, err := v.ReadAt(buf, 0); int64(k) != size || err != nil && err != io.EOF {
					t.Errorf("read %d of %d: %v", k, size, err)
					return
				}
				if !strings.HasPrefix(want, string(buf)) {
					t.Errorf("%d bytes that are not a prefix of the records", size)
					return
				}
				select {
				case <-failed:
					return
				default:
				}
				if size == int64(len(want)) {
					return
				}
			}
		})
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	readers.Wait()
}
