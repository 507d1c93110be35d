package squash

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// readEverything walks img to a bounded depth and reads every file whole,
// returning the first error.
func readEverything(img *Image) error {
	var walk func(dir string, depth int) error
	walk = func(dir string, depth int) error {
		if depth > 8 {
			return nil // a damaged image may hold a directory cycle
		}
		entries, err := img.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			p := path.Join(dir, e.Name())
			if e.IsDir() {
				if err := walk(p, depth+1); err != nil {
					return err
				}
				continue
			}
			f, err := img.Open(p)
			if err != nil {
				return err
			}
			if _, err := io.Copy(io.Discard, io.LimitReader(f.(io.Reader), 64<<20)); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(".", 0)
}

func TestDamagedImages(t *testing.T) {
	live := t.TempDir()
	_, s := liveStream(t, live, "ev", 2000)
	good := filepath.Join(t.TempDir(), "good.squashfs")
	if _, err := Archive(good, []Source{{Stream: s, Path: "."}}, Options{}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	img, _ := Open(good)
	sbRead := img.sb
	payloads, _ := img.lookup("test", "payloads")
	payloads, _ = img.fileInode(payloads.ref)
	img.Close()

	flip := func(at uint64) func([]byte) []byte {
		return func(b []byte) []byte { b[at] ^= 0x5A; return b }
	}
	cases := []struct {
		name   string
		damage func([]byte) []byte
		atOpen bool // the error comes at open
		want   string
	}{
		{"empty", func(b []byte) []byte { return nil }, true, "too short"},
		{"half a superblock", func(b []byte) []byte { return b[:50] }, true, "too short"},
		{"bad magic", flip(0), true, "no squashfs magic"},
		{"truncated to half", func(b []byte) []byte { return b[:len(b)/2] }, true, "truncated"},
		{"truncated by a byte", func(b []byte) []byte { return b[:sbRead.bytesUsed-1] }, true, "truncated"},
		{"version 3", func(b []byte) []byte { b[28] = 3; return b }, true, "version 3.0"},
		{"block size", flip(13), true, "block size"},
		{"compression id", func(b []byte) []byte { b[20] = 9; return b }, true, "compression id 9"},
		{"inode table start", flip(64 + 2), true, ""},
		{"directory table start", flip(72 + 1), true, ""},
		{"first data block", flip(200), false, ""},
		{"a payloads block", flip(payloads.blocksAt + uint64(payloads.blockSizes[0]&^blockUncompMsk) + 10), false, ""},
		{"inode table", flip(sbRead.inodeTable + 5), false, ""},
		{"directory table", flip(sbRead.dirTable + 4), false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.squashfs")
			os.WriteFile(p, c.damage(bytes.Clone(data)), 0o644)
			img, err := Open(p)
			if err == nil {
				defer img.Close()
				// gzip blocks carry a checksum: damage inside them shows.
				if err = readEverything(img); err == nil {
					t.Fatal("damage went unnoticed")
				}
			} else if !c.atOpen {
				t.Logf("failed at open: %v", err)
			}
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), c.want) || strings.Count(err.Error(), "\n") > 0 {
				t.Errorf("error %q: want one line naming %s with %q", err, p, c.want)
			}
		})
	}
}

func FuzzOpenImage(f *testing.F) {
	live := f.TempDir()
	_, s := liveStream(f, live, "ev", 50)
	good := filepath.Join(f.TempDir(), "good.squashfs")
	if _, err := Archive(good, []Source{{Stream: s, Path: "."}}, Options{}); err != nil {
		f.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte("hsqs"))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := NewImage(bytes.NewReader(b), int64(len(b)), "fuzz")
		if err != nil {
			return
		}
		readEverything(img)
		fs.ReadFile(img, "payloads")
	})
}

// A damaged image may point a file's data at a metadata block that is
// cached already: an error, not a panic, and not the metadata's bytes.
func TestDataBlockAtMetadata(t *testing.T) {
	img, err := Open(mksquashfs(t, sampleTree(t), "-comp", "gzip"))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	img.cache.putMeta(4096, []byte("metadata"), 0)
	if _, err := img.dataBlock(4096, 100, 4096); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "metadata block") {
		t.Fatalf("data block at a metadata block: %v", err)
	}
}
