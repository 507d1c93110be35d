package squash

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// needTool skips a test without a tool, unless CI requires it.
func needTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("FRANZFS_REQUIRE_FUSE") == "1" {
			t.Fatalf("%s is required here but missing", name)
		}
		t.Skipf("no %s: %v", name, err)
	}
}

// sampleTree writes files of assorted sizes: empty, smaller than a block,
// exactly a block, several blocks with a tail, incompressible and not.
func sampleTree(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(9, 9))
	files := map[string]int{"empty": 0, "small": 100, "block": 131072, "multi": 3*131072 + 777, "sub/deep/x": 5000, "sub/y": 200000}
	for name, n := range files {
		data := make([]byte, n)
		for i := range data {
			if name == "multi" && i%3 == 0 {
				data[i] = byte(rng.IntN(256)) // partly random: some blocks compress, some may not
			} else {
				data[i] = byte('a' + i%23)
			}
		}
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	random := make([]byte, 400000)
	for i := range random {
		random[i] = byte(rng.IntN(256))
	}
	os.WriteFile(filepath.Join(dir, "random"), random, 0o644)
	return dir
}

func mksquashfs(t testing.TB, src string, args ...string) string {
	t.Helper()
	needTool(t, "mksquashfs")
	out := filepath.Join(t.TempDir(), "img.squashfs")
	cmd := exec.Command("mksquashfs", append([]string{src, out, "-noappend", "-quiet", "-no-progress"}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mksquashfs %v: %v: %s", args, err, b)
	}
	return out
}

// sameTree checks that every file of src reads identically from the image,
// with ReadAt at odd offsets too, and that listings match.
func sameTree(t *testing.T, img *Image, src string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			want, _ := os.ReadDir(p)
			got, err := img.ReadDir(rel)
			if err != nil || len(got) != len(want) {
				t.Errorf("readdir %s: %d entries, %v; want %d", rel, len(got), err, len(want))
			}
			return nil
		}
		want, _ := os.ReadFile(p)
		got, err := fs.ReadFile(img, rel)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v; want %d", rel, len(got), err, len(want))
			return nil
		}
		f, _ := img.Open(rel)
		ra := f.(io.ReaderAt)
		for _, off := range []int64{0, 1, 131071, 131072, int64(len(want)) - 3} {
			if off < 0 || off >= int64(len(want)) {
				continue
			}
			buf := make([]byte, 300)
			n, err := ra.ReadAt(buf, off)
			end := min(off+300, int64(len(want)))
			if !bytes.Equal(buf[:n], want[off:end]) || (err != nil && err != io.EOF) {
				t.Errorf("%s: ReadAt %d: %d bytes, %v", rel, off, n, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// richTree is sampleTree with what else images hold: a sparse file, hard
// links, names of 255 bytes, and a directory of 600 names.
func richTree(t testing.TB) string {
	t.Helper()
	dir := sampleTree(t)
	f, err := os.Create(filepath.Join(dir, "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("in the middle"), 3<<20)
	f.Truncate(8 << 20)
	f.Close()
	for _, name := range []string{"hard1", "hard2"} {
		if err := os.Link(filepath.Join(dir, "small"), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, strings.Repeat("n", 255)), []byte("long name"), 0o644)
	os.Mkdir(filepath.Join(dir, "many"), 0o755)
	for i := range 600 {
		os.WriteFile(filepath.Join(dir, "many", fmt.Sprintf("entry-%04d", i)), []byte(fmt.Sprint(i)), 0o644)
	}
	return dir
}

// Images of every compressor, block size and fragment choice that
// mksquashfs makes read as the tree they were made of, pass
// testing/fstest.TestFS, and match what unsquashfs extracts.
func TestReadMksquashfsImages(t *testing.T) {
	src := richTree(t)
	type variant struct {
		name string
		args []string
	}
	var cases []variant
	for _, comp := range []variant{{"gzip", []string{"-comp", "gzip"}}, {"xz", []string{"-comp", "xz"}}, {"zstd", []string{"-comp", "zstd"}},
		{"lz4", []string{"-comp", "lz4"}}, {"none", []string{"-noI", "-noD", "-noF", "-noX"}}} {
		for _, bs := range []string{"4K", "128K", "1M"} {
			for _, frag := range []variant{{"", nil}, {"-no-fragments", []string{"-no-fragments"}}} {
				args := append(append(slices.Clone(comp.args), "-b", bs), frag.args...)
				cases = append(cases, variant{comp.name + "-" + bs + frag.name, args})
			}
		}
	}
	cases = append(cases, variant{"xz-bcj", []string{"-comp", "xz", "-Xbcj", "x86"}}, variant{"lz4hc", []string{"-comp", "lz4", "-Xhc"}},
		variant{"always-fragments", []string{"-always-use-fragments"}})
	needTool(t, "unsquashfs")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mksquashfs(t, src, c.args...)
			img, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer img.Close()
			sameTree(t, img, src)
			if err := fstest.TestFS(img, "small", "sub/deep/x", "sparse", "many/entry-0599", strings.Repeat("n", 255)); err != nil {
				t.Errorf("fstest.TestFS: %v", err)
			}
			out := filepath.Join(t.TempDir(), "x")
			if b, err := exec.Command("unsquashfs", "-no-progress", "-d", out, p).CombinedOutput(); err != nil {
				t.Fatalf("unsquashfs: %v: %s", err, b)
			}
			sameTree(t, img, out)
		})
	}
}

func TestRefusesLzo(t *testing.T) {
	src := sampleTree(t)
	_, err := Open(mksquashfs(t, src, "-comp", "lzo"))
	if !errors.Is(err, ErrUnsupported) || !bytes.Contains([]byte(err.Error()), []byte("lzo")) {
		t.Fatalf("lzo image: %v", err)
	}
}

func TestConcurrentReaders(t *testing.T) {
	src := sampleTree(t)
	img, err := Open(mksquashfs(t, src, "-comp", "zstd"))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	img.cache = newBlockCache(200000) // small: blocks are evicted while others read them
	want, _ := os.ReadFile(filepath.Join(src, "multi"))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			f, _ := img.Open("multi")
			ra := f.(io.ReaderAt)
			for range 300 {
				off := rng.Int64N(int64(len(want)))
				buf := make([]byte, 1+rng.IntN(200000))
				n, _ := ra.ReadAt(buf, off)
				if !bytes.Equal(buf[:n], want[off:off+int64(n)]) {
					t.Errorf("ReadAt %d: wrong bytes", off)
					return
				}
			}
		}()
	}
	wg.Wait()
	for len(readAheadSlots) > 0 {
		time.Sleep(time.Millisecond)
	}
	// Every reader let go: a cached block is held by the cache alone, or
	// its buffer would never be reused.
	img.cache.mu.Lock()
	defer img.cache.mu.Unlock()
	for e := img.cache.lru.Front(); e != nil; e = e.Next() {
		if v := e.Value.(*cached); v.blk != nil && v.blk.refs.Load() != 1 {
			t.Errorf("block at %d: %d references after the readers are done", v.pos, v.blk.refs.Load())
		}
	}
}

// xz with a BCJ filter (mksquashfs -Xbcj x86, chosen for machine code)
// reads as any other image.
func TestXzBCJ(t *testing.T) {
	src := t.TempDir()
	data, err := os.ReadFile("/usr/bin/bash")
	if err != nil {
		t.Skip("no /usr/bin/bash to compress")
	}
	os.WriteFile(filepath.Join(src, "bash"), data, 0o755)
	img, err := Open(mksquashfs(t, src, "-comp", "xz", "-Xbcj", "x86"))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	sameTree(t, img, src)
}
