package squash

import (
	"bytes"
	"compress/zlib"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"
)

func TestInflateZlib(t *testing.T) {
	data := bytes.Repeat([]byte("event 1 level=info\n"), 5000)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(data)
	zw.Close()
	good := z.Bytes()
	damaged := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := []struct {
		name string
		src  []byte
		err  string // "" for none
	}{
		{"whole", good, ""},
		{"bad checksum", damaged(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), "invalid checksum"},
		{"no checksum", good[:len(good)-4], "no checksum"},
		{"short checksum", good[:len(good)-1], "no checksum"},
		{"bad header", damaged(func(b []byte) []byte { b[0] = 0x79; return b }), "invalid header"},
		{"dictionary", damaged(func(b []byte) []byte {
			b[1] = 0x20 // FDICT, with FCHECK making the header a multiple of 31
			b[1] += byte(31 - (uint16(b[0])<<8|uint16(b[1]))%31)
			return b
		}), "preset dictionary"},
		{"empty", nil, "invalid header"},
		{"truncated data", good[:len(good)/2], "unexpected EOF"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := inflateZlib(make([]byte, 0, len(data)), c.src)
			if c.err == "" {
				if err != nil || !bytes.Equal(out, data) {
					t.Fatalf("got %d bytes, %v", len(out), err)
				}
			} else if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("error %v, want one with %q", err, c.err)
			}
		})
	}
	if _, err := inflateZlib(make([]byte, 0, len(data)-1), good); err == nil {
		t.Error("a block larger than its room inflated without error")
	}
}

// A stream cut short is an error, never the bytes it held so far.
func TestInflateXzCutShort(t *testing.T) {
	data := bytes.Repeat([]byte("event 1 level=info\n"), 5000)
	var x bytes.Buffer
	xw, err := xz.WriterConfig{DictCap: 1 << 20}.NewWriter(&x) // as mksquashfs: no more than a block
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

// An xz block's dictionary is allocated by the reader: one larger than a
// block (mksquashfs never writes one) is refused before it is.
func TestInflateXzDictionary(t *testing.T) {
	var x bytes.Buffer
	xw, err := xz.WriterConfig{DictCap: 64 << 20}.NewWriter(&x)
	if err != nil {
		t.Fatal(err)
	}
	xw.Write([]byte("small"))
	xw.Close()
	if _, err := inflateXz(make([]byte, 0, 1<<20), x.Bytes()); err == nil || !strings.Contains(err.Error(), "dictionary larger than a block") {
		t.Errorf("a 64 MiB dictionary: %v", err)
	}
}
