package store

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
)

// Records over maxInline are left in payloads for the caller to copy out,
// between small ones read whole, in range and tag views alike.
func TestScanLargeRecords(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s")
	w, err := OpenWriter(dir, WriterOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var want [][]byte
	for i, size := range []int{10, maxInline + 1, 0, 3 * maxInline, maxInline, 7} {
		rec := bytes.Repeat([]byte{byte('a' + i)}, size)
		if _, err := w.Append(Record{Payload: rec, Tags: []string{"all"}}); err != nil {
			t.Fatal(err)
		}
		want = append(want, rec)
	}
	s, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, view := range []string{"seq/0:", "tag/all"} {
		p, _ := ParsePath(view)
		v, err := s.View(p)
		if err != nil {
			t.Fatal(err)
		}
		v.Size()
		n := 0
		_, err = v.Scan(0, func(rec int64, p *Payload) error {
			if p.Large() != (p.Len() > maxInline) || (p.Large() && p.Inline() != nil) {
				return fmt.Errorf("record %d of %d bytes: large %v, %d bytes inline", rec, p.Len(), p.Large(), len(p.Inline()))
			}
			var out bytes.Buffer
			if _, err := p.WriteTo(&out); err != nil {
				return err
			}
			whole, err := p.Bytes()
			if err != nil {
				return err
			}
			if !bytes.Equal(out.Bytes(), want[rec]) || !bytes.Equal(whole, want[rec]) {
				return fmt.Errorf("record %d: %d and %d bytes, want %d", rec, out.Len(), len(whole), len(want[rec]))
			}
			n++
			return nil
		})
		if err != nil || n != len(want) {
			t.Errorf("%s: %d records, %v", view, n, err)
		}
	}
}
