package squash

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/franzfs/franzfs/store"
)

// liveStream writes n records with a time index and tags into dir/name.
func liveStream(t testing.TB, dir, name string, n int) (*store.Writer, *store.Stream) {
	t.Helper()
	w, err := store.OpenWriter(filepath.Join(dir, name), store.WriterOptions{Create: true, Indices: []string{"time"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	appendN(t, w, n)
	s, err := store.OpenDir(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return w, s
}

func appendN(t testing.TB, w *store.Writer, n int) {
	t.Helper()
	for range n {
		i := w.Len()
		tags := []string{"all"}
		if i%5 == 0 {
			tags = append(tags, "five")
		}
		payload := fmt.Appendf(nil, "record %d %s\n", i, strings.Repeat("z", int(i%300)))
		if _, err := w.Append(store.Record{Payload: payload, Index: []int64{i * 10}, Tags: tags}); err != nil {
			t.Fatal(err)
		}
	}
}

// sameFiles compares every file under a with the one of the same path under b.
func sameFiles(t *testing.T, a, b string) {
	t.Helper()
	n := 0
	filepath.WalkDir(a, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		rel, _ := filepath.Rel(a, p)
		x, _ := os.ReadFile(p)
		y, err := os.ReadFile(filepath.Join(b, rel))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s: %d bytes vs %d, %v", rel, len(x), len(y), err)
		}
		n++
		return nil
	})
	if n == 0 {
		t.Errorf("no files under %s", a)
	}
}

func TestArchiveReadsBackEverywhere(t *testing.T) {
	live := t.TempDir()
	_, s1 := liveStream(t, live, "app/events", 3000)
	_, s2 := liveStream(t, live, "app/other", 10)
	for _, comp := range []string{"gzip", "none"} {
		t.Run(comp, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "a.squashfs")
			recs, err := Archive(out, []Source{{Stream: s1, Path: "app/events"}, {Stream: s2, Path: "app/other"}}, Options{Compression: comp, Verify: true})
			if err != nil {
				t.Fatal(err)
			}
			if recs[0] != 3000 || recs[1] != 10 {
				t.Fatalf("records %v", recs)
			}
			// Our reader.
			img, err := Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer img.Close()
			as, err := store.OpenFS(mustSub(t, img, "app/events"), out)
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := as.Count(); n != 3000 {
				t.Fatalf("archived stream has %d records", n)
			}
			// Only what the image needs: far smaller than go-diskfs's preallocation.
			fi, _ := os.Stat(out)
			if fi.Size()%4096 != 0 {
				t.Errorf("image size %d not padded to 4 KiB", fi.Size())
			}
			needTool(t, "unsquashfs")
			if b, err := exec.Command("unsquashfs", "-l", out).CombinedOutput(); err != nil || !strings.Contains(string(b), "app/events/tags/five") {
				t.Fatalf("unsquashfs -l: %v: %s", err, b)
			}
			x := filepath.Join(t.TempDir(), "x")
			if b, err := exec.Command("unsquashfs", "-d", x, out).CombinedOutput(); err != nil {
				t.Fatalf("unsquashfs: %v: %s", err, b)
			}
			sameFiles(t, filepath.Join(live, "app"), filepath.Join(x, "app"))
			if os.Geteuid() == 0 {
				mnt := t.TempDir()
				if b, err := exec.Command("mount", "-t", "squashfs", "-o", "loop,ro", out, mnt).CombinedOutput(); err != nil {
					t.Fatalf("kernel mount: %v: %s", err, b)
				}
				sameFiles(t, filepath.Join(live, "app"), filepath.Join(mnt, "app"))
				exec.Command("umount", mnt).Run()
			}
			if _, err := exec.LookPath("squashfuse"); err == nil && os.Geteuid() == 0 {
				mnt := t.TempDir()
				if b, err := exec.Command("squashfuse", out, mnt).CombinedOutput(); err != nil {
					t.Fatalf("squashfuse: %v: %s", err, b)
				}
				sameFiles(t, filepath.Join(live, "app"), filepath.Join(mnt, "app"))
				exec.Command("umount", mnt).Run()
			}
		})
	}
}

// A live stream is archived as of one record boundary while its writer goes on.
func TestArchiveWhileWriting(t *testing.T) {
	live := t.TempDir()
	w, s := liveStream(t, live, "ev", 500)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			appendN(t, w, 5)
		}
	}()
	out := filepath.Join(t.TempDir(), "ev.squashfs")
	recs, err := Archive(out, []Source{{Stream: s, Path: "."}}, Options{Verify: true})
	<-done
	if err != nil {
		t.Fatal(err)
	}
	img, _ := Open(out)
	defer img.Close()
	as, err := store.OpenFS(img, out)
	if err != nil {
		t.Fatal(err)
	}
	r, err := as.Check()
	if err != nil || !r.OK() || len(r.Notes) != 0 || r.Records != recs[0] || recs[0] < 500 {
		t.Fatalf("archived stream: %+v, %v; %d records archived", r, err, recs[0])
	}
	for i := int64(0); i < recs[0]; i++ {
		a, _ := as.Record(i)
		b, _ := s.Record(i)
		if !bytes.Equal(a, b) {
			t.Fatalf("record %d differs", i)
		}
	}
	if n, _ := as.TagCount("all"); n != recs[0] {
		t.Fatalf("tag all: %d postings for %d records", n, recs[0])
	}
}

func TestArchiveRefusesAndCleansUp(t *testing.T) {
	live := t.TempDir()
	_, s := liveStream(t, live, "ev", 10)
	dir := t.TempDir()
	out := filepath.Join(dir, "ev.squashfs")
	os.WriteFile(out, []byte("keep me"), 0o644)
	if _, err := Archive(out, []Source{{Stream: s, Path: "."}}, Options{}); !errors.Is(err, ErrExists) {
		t.Fatalf("overwrote without force: %v", err)
	}
	if _, err := Archive(out, []Source{{Stream: s, Path: "."}}, Options{Compression: "zstd"}); err == nil {
		t.Fatal("accepted zstd, which the kernel cannot mount from go-diskfs")
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	if _, err := Archive(out, []Source{{Stream: s, Path: "."}}, Options{Force: true}); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in TMPDIR: %v", left)
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Errorf("left beside the image: %v", left)
	}
}

func mustSub(t *testing.T, img *Image, dir string) fs.FS {
	sub, err := fs.Sub(img, dir)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// An archive that fails midway, here on a full disk, leaves nothing behind.
func TestArchiveFailureLeavesNothing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	live := t.TempDir()
	_, s := liveStream(t, live, "ev", 3000)
	full := t.TempDir()
	if err := syscall.Mount("tmpfs", full, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("no tmpfs: %v", err)
	}
	defer syscall.Unmount(full, syscall.MNT_DETACH)
	work := t.TempDir()
	t.Setenv("TMPDIR", work)
	_, err := Archive(filepath.Join(full, "ev.squashfs"), []Source{{Stream: s, Path: "."}}, Options{Compression: "none"})
	// go-diskfs wraps with %v: the cause shows in the message only.
	if err == nil || !strings.Contains(err.Error(), "no space left on device") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("archive onto a full disk: %v", err)
	}
	for _, d := range []string{full, work} {
		if left, _ := os.ReadDir(d); len(left) != 0 {
			t.Errorf("left in %s: %v", d, left)
		}
	}
}
