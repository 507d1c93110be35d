package squash

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/franzfs/franzfs/store"
)

// An image overwritten in place while open (cp onto it) fails its reads
// from then on, rather than mixing old and new bytes; one replaced by mv
// leaves the open image reading its own file, whole.
func TestImageChangedWhileOpen(t *testing.T) {
	dir := t.TempDir()
	_, a := liveStream(t, dir, "a", 3000)
	_, b := liveStream(t, dir, "b", 2000)
	want, _ := os.ReadFile(filepath.Join(dir, "a", "payloads"))
	imgB := filepath.Join(dir, "b.squashfs")
	if _, err := Archive(imgB, []Source{{Stream: b, Path: "."}}, Options{}); err != nil {
		t.Fatal(err)
	}
	newB, _ := os.ReadFile(imgB)
	for _, c := range []struct {
		name    string
		replace func(img string) error
		ok      bool
	}{
		{"cp onto it", func(img string) error { return os.WriteFile(img, newB, 0o644) }, false},
		{"mv over it", func(img string) error {
			os.WriteFile(img+".new", newB, 0o644)
			return os.Rename(img+".new", img)
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "a.squashfs")
			if _, err := Archive(p, []Source{{Stream: a, Path: "."}}, Options{}); err != nil {
				t.Fatal(err)
			}
			img, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer img.Close()
			f, err := img.Open("payloads")
			if err != nil {
				t.Fatal(err)
			}
			head := make([]byte, 100)
			if _, err := io.ReadFull(f.(io.Reader), head); err != nil {
				t.Fatal(err)
			}
			if err := c.replace(p); err != nil {
				t.Fatal(err)
			}
			rest, err := io.ReadAll(f.(io.Reader))
			got := append(head, rest...)
			switch {
			case c.ok && (err != nil || !bytes.Equal(got, want)):
				t.Errorf("read after %s: %d bytes, %v; want the %d bytes of the image opened", c.name, len(got), err, len(want))
			case !c.ok && !errors.Is(err, ErrCorrupt):
				t.Errorf("read after %s: %v, want an error", c.name, err)
			case !c.ok && !bytes.HasPrefix(want, got):
				t.Errorf("read after %s: bytes of the new image among the old", c.name)
			}
		})
	}
}

// A directory entry patched to lead back to its own directory, as an
// attacker would patch one (unsquashfs: "directory loop detected"), is an
// error naming the image, and a walk of the image ends.
func TestDirectoryLoop(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "sub", "deep"), 0o755)
	os.WriteFile(filepath.Join(src, "sub", "deep", "x"), []byte("x"), 0o644)
	p := mksquashfs(t, src, "-noI", "-noD", "-noF", "-noX")
	img, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := img.lookup("test", "sub")
	img.Close()
	if err != nil {
		t.Fatal(err)
	}
	// sub's listing, in the first (uncompressed) block of the directory
	// table: a header (count, start block, inode number), then "deep".
	data, _ := os.ReadFile(p)
	at := int(img.sb.dirTable) + 2 + int(sub.dirBlock) + int(sub.dirOffset)
	binary.LittleEndian.PutUint32(data[at+4:], uint32(sub.ref>>16))
	binary.LittleEndian.PutUint16(data[at+12:], uint16(sub.ref))
	if string(data[at+20:at+24]) != "deep" {
		t.Fatalf("no entry deep where sub's listing was looked for")
	}
	os.WriteFile(p, data, 0o644)
	img, err = Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	if _, err := img.ReadDir("sub/deep"); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "directory loop") {
		t.Errorf("ReadDir through the loop: %v, want a directory loop", err)
	}
	var walkErr error
	fs.WalkDir(img, ".", func(_ string, _ fs.DirEntry, err error) error {
		walkErr = errors.Join(walkErr, err)
		return nil
	})
	if !errors.Is(walkErr, ErrCorrupt) {
		t.Errorf("WalkDir ended with %v, want the loop reported", walkErr)
	}
}

// allocated returns the bytes fn allocated.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// What an image claims costs no memory before it is checked: a patched
// fragment count, a root that is not a directory, a zstd block that
// inflates far past a block.
func TestImageClaimsChecked(t *testing.T) {
	src := sampleTree(t)
	p := mksquashfs(t, src, "-comp", "zstd")
	data, _ := os.ReadFile(p)
	img, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	small, _ := img.lookup("test", "small")
	img.Close()

	patched := func(at int, v uint64, size int) string {
		d := bytes.Clone(data)
		if size == 4 {
			binary.LittleEndian.PutUint32(d[at:], uint32(v))
		} else {
			binary.LittleEndian.PutUint64(d[at:], v)
		}
		q := filepath.Join(t.TempDir(), "patched.squashfs")
		os.WriteFile(q, d, 0o644)
		return q
	}
	// As many fragments as the image has bytes over 16, their index moved
	// to the start: the table would be as large as the image.
	many := patched(16, uint64(len(data)/16-1), 4)
	d, _ := os.ReadFile(many)
	binary.LittleEndian.PutUint64(d[80:], 0)
	os.WriteFile(many, d, 0o644)
	var mimg *Image
	if n := allocated(func() { mimg, err = Open(many) }); n > uint64(len(data))/8 {
		t.Errorf("a patched fragment table: Open allocated %d bytes of a %d-byte image", n, len(data))
	}
	if err == nil {
		if got, err := fs.ReadFile(mimg, "small"); err == nil {
			want, _ := os.ReadFile(filepath.Join(src, "small"))
			if !bytes.Equal(got, want) {
				t.Errorf("a patched fragment table gave wrong bytes")
			}
		}
		mimg.Close()
	}
	for _, c := range []struct {
		name string
		path string
		msg  string
	}{
		{"fragment count", patched(16, 0x7fffffff, 4), "fragments"},
		{"root a file", patched(32, small.ref, 8), "is not a directory"},
	} {
		var err error
		if n := allocated(func() { _, err = Open(c.path) }); n > 1<<20 {
			t.Errorf("%s: Open allocated %d bytes", c.name, n)
		}
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want a corrupt image about %q", c.name, err, c.msg)
		}
	}

	enc, _ := zstd.NewWriter(nil)
	bomb := enc.EncodeAll(make([]byte, 64<<20), nil)
	t.Logf("a zstd frame of %d bytes inflating to 64 MiB", len(bomb))
	var out []byte
	if n := allocated(func() { out, err = inflateZstd(make([]byte, 0, 128<<10), bomb) }); n > 4<<20 {
		t.Errorf("inflating the bomb allocated %d bytes", n)
	}
	if err == nil {
		t.Errorf("the bomb inflated to %d bytes with no error", len(out))
	}
}

// franzfs's images carry a checksum of every data block: a byte flipped
// anywhere in their data, stored or compressed, is an error, never a
// wrong byte read back.
func TestChecksumsCatchFlips(t *testing.T) {
	live := t.TempDir()
	w, s := liveStream(t, live, "ev", 0)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 40 {
		p := make([]byte, 4000+i*100)
		for k := range p {
			if i%2 == 0 {
				p[k] = byte(rng.IntN(256)) // incompressible: stored blocks
			} else {
				p[k] = byte('a' + k%7)
			}
		}
		if _, err := w.Append(store.Record{Payload: p, Index: []int64{int64(i)}, Tags: []string{"all"}}); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][]byte{}
	for _, name := range []string{"payloads", "offsets", "indices", "tags/all"} {
		want[name], _ = os.ReadFile(filepath.Join(live, "ev", name))
	}
	for _, comp := range []string{"gzip", "none"} {
		good := filepath.Join(t.TempDir(), "good.squashfs")
		if _, err := Archive(good, []Source{{Stream: s, Path: "."}}, Options{Compression: comp}); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(good)
		img, _ := Open(good)
		dataEnd := img.sb.inodeTable
		img.Close()
		bad := filepath.Join(t.TempDir(), "bad.squashfs")
		wrong := 0
		for range 200 {
			at := superblockSize + rng.Uint64N(dataEnd-superblockSize)
			d := bytes.Clone(data)
			d[at] ^= byte(1 + rng.IntN(255))
			os.WriteFile(bad, d, 0o644)
			img, err := Open(bad)
			if err != nil {
				continue
			}
			for name, w := range want {
				if got, err := fs.ReadFile(img, name); err == nil && !bytes.Equal(got, w) {
					wrong++
					t.Errorf("%s image, byte %d flipped: %s read back wrong, with no error", comp, at, name)
				}
			}
			img.Close()
		}
		if wrong > 0 {
			t.Errorf("%s: %d wrong reads of 200 flips", comp, wrong)
		}
	}
}
