package bucket

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// testStore starts versitygw, a real S3 server, over a scratch folder with
// a bucket "objects". Without versitygw the test skips, unless
// FRANZFS_REQUIRE_S3=1.
func testStore(t *testing.T) *Store {
	t.Helper()
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		if os.Getenv("FRANZFS_REQUIRE_S3") == "1" {
			t.Fatal("versitygw is required (FRANZFS_REQUIRE_S3=1): go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
		}
		t.Skip("no versitygw on PATH")
	}
	data := t.TempDir()
	os.Mkdir(filepath.Join(data, "objects"), 0o755)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "--access", "k", "--secret", "secret-key", "--port", addr, "posix", data)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("versitygw does not listen")
		}
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "k")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-key")
	// The smallest cache, 16 MiB: the tests read past it.
	s, err := Open(context.Background(), "objects", Options{Endpoint: "http://" + addr, PathStyle: true, CacheBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Reads of every size at every place, sequential and random and from many
// goroutines, give the object's bytes: across chunks, runs and read-ahead,
// and past the cache's bound.
func TestObjectReadAt(t *testing.T) {
	s := testStore(t)
	ctx := context.Background()
	want := make([]byte, 40<<20+12345) // more than the cache holds
	rand.Read(want)
	f := filepath.Join(t.TempDir(), "x")
	os.WriteFile(f, want, 0o644)
	file, _ := os.Open(f)
	defer file.Close()
	if err := s.Upload(ctx, "dir/x.squashfs", file, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(ctx, "dir/x.squashfs", file); err != nil {
		t.Fatal(err)
	}
	obj, err := s.Head(ctx, "dir/x.squashfs")
	if err != nil || obj.Size() != int64(len(want)) {
		t.Fatalf("head: %v, size %d", err, obj.Size())
	}
	// Sequential, in reads of odd sizes.
	got, err := io.ReadAll(io.NewSectionReader(obj, 0, obj.Size()))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("sequential read: %d bytes, %v", len(got), err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(uint64(g), 1))
			for range 200 {
				off := rng.Int64N(int64(len(want)))
				buf := make([]byte, rng.IntN(300<<10)+1)
				n, err := obj.ReadAt(buf, off)
				end := min(off+int64(len(buf)), int64(len(want)))
				if n != int(end-off) || (err != nil && (err != io.EOF || end-off == int64(len(buf)))) || !bytes.Equal(buf[:n], want[off:end]) {
					t.Errorf("ReadAt(%d bytes, %d) = %d, %v", len(buf), off, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if _, err := obj.ReadAt(make([]byte, 1), obj.Size()); err != io.EOF {
		t.Errorf("read at the end: %v", err)
	}
}

// An upload cut short (here: its context ends once the first part is in)
// leaves no object: it appears whole or not at all.
func TestUploadAllOrNothing(t *testing.T) {
	s := testStore(t)
	data := make([]byte, 3*partSize)
	rand.Read(data)
	f := filepath.Join(t.TempDir(), "x")
	os.WriteFile(f, data, 0o644)
	file, _ := os.Open(f)
	defer file.Close()
	ctx, cancel := context.WithCancel(context.Background())
	err := s.Upload(ctx, "cut.squashfs", file, func(done, total int64) { cancel() })
	if err == nil {
		t.Fatal("an upload whose context ended succeeded")
	}
	if exists, err := s.Exists(context.Background(), "cut.squashfs"); exists || err != nil {
		t.Fatalf("after a cut upload: exists %v, %v", exists, err)
	}
	// And a whole one is there, byte for byte.
	if err := s.Upload(context.Background(), "whole.squashfs", file, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(context.Background(), "whole.squashfs", file); err != nil {
		t.Fatal(err)
	}
}
