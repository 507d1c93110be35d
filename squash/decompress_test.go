package squash

import (
	"bytes"
	"testing"

	"github.com/ulikunitz/xz"
)

// A stream cut short is an error, never the bytes it held so far.
func TestInflateXzCutShort(t *testing.T) {
	data := bytes.Repeat([]byte("event 1 level=info\n"), 5000)
	var x bytes.Buffer
	xw, err := xz.NewWriter(&x)
	if err != nil {
		t.Fatal(err)
	}
	xw.Write(data)
	xw.Close()
	if out, err := inflateXz(make([]byte, 0, len(data)), x.Bytes()); err != nil || !bytes.Equal(out, data) {
		t.Fatalf("whole: %d bytes, %v", len(out), err)
	}
	for _, n := range []int{x.Len() - 1, x.Len() - 13, x.Len() / 2} {
		if out, err := inflateXz(make([]byte, 0, len(data)), x.Bytes()[:n]); err == nil {
			t.Errorf("cut to %d of %d bytes: %d bytes and no error", n, x.Len(), len(out))
		}
	}
}
