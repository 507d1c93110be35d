package ingest

import (
	"bytes"
	"errors"
	"testing"
)

// A relay sends every byte in order, flushes after what came before, and
// once a send fails, fails the writes after it.
func TestRelay(t *testing.T) {
	var got bytes.Buffer
	var flushedAt []int
	r := newRelay(&got, func() { flushedAt = append(flushedAt, got.Len()) })
	var want bytes.Buffer
	for i := range 5000 {
		p := bytes.Repeat([]byte{byte(i)}, i%700)
		want.Write(p)
		if _, err := r.Write(p); err != nil {
			t.Fatal(err)
		}
		if i == 2500 {
			if err := r.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := r.Close(); err != nil || r.Close() != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("sent %d bytes, want %d, or not the same", got.Len(), want.Len())
	}
	if len(flushedAt) != 1 || flushedAt[0] == 0 || flushedAt[0] > want.Len() {
		t.Fatalf("flushes at %v", flushedAt)
	}

	failing := newRelay(failWriter{}, func() {})
	var err error
	for range 100 {
		if _, err = failing.Write(make([]byte, 64<<10)); err != nil {
			break
		}
	}
	if !errors.Is(err, errSend) || !errors.Is(failing.Close(), errSend) {
		t.Fatalf("writes after a failed send: %v", err)
	}
}

var errSend = errors.New("client gone")

type failWriter struct{}

func (failWriter) Write(p []byte) (int, error) { return 0, errSend }
