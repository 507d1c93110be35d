package squash

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Every kind of entry mksquashfs stores reads as what it is: links with
// their targets (never an empty file), devices, FIFOs and sockets by type,
// set-id bits, owners and link counts; names an fs.FS path cannot spell
// are left out; holes and hard links cost no memory per block.
func TestEntryTypes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("making devices and owners needs root")
	}
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(src, "file"), []byte("data"), 0o644))
	must(os.Symlink("file", filepath.Join(src, "link")))
	must(syscall.Mkfifo(filepath.Join(src, "fifo"), 0o644))
	must(syscall.Mknod(filepath.Join(src, "null"), syscall.S_IFCHR|0o644, 1<<8|3))
	must(syscall.Mknod(filepath.Join(src, "sock"), syscall.S_IFSOCK|0o644, 0))
	must(os.WriteFile(filepath.Join(src, "suid"), []byte("x"), 0o755))
	must(os.Chmod(filepath.Join(src, "suid"), 0o755|fs.ModeSetuid))
	must(os.Chown(filepath.Join(src, "file"), 1234, 5678))
	must(os.WriteFile(filepath.Join(src, "bad\xffname"), nil, 0o644))
	// A 1 GiB file of holes with a byte of data, and 300 more names for it.
	sparse := filepath.Join(src, "links", "sparse")
	must(os.MkdirAll(filepath.Dir(sparse), 0o755))
	f, err := os.Create(sparse)
	must(err)
	f.WriteAt([]byte{7}, 512<<20)
	must(f.Truncate(1 << 30))
	f.Close()
	for i := range 300 {
		must(os.Link(sparse, filepath.Join(src, "links", "l"+string(rune('a'+i/26))+string(rune('a'+i%26)))))
	}
	img, err := Open(mksquashfs(t, src, "-b", "4K"))
	must(err)
	defer img.Close()

	entries, err := img.ReadDir(".")
	must(err)
	types := map[string]fs.FileMode{}
	for _, e := range entries {
		types[e.Name()] = e.Type()
	}
	for name, want := range map[string]fs.FileMode{"file": 0, "link": fs.ModeSymlink, "fifo": fs.ModeNamedPipe,
		"null": fs.ModeDevice | fs.ModeCharDevice, "sock": fs.ModeSocket, "suid": 0, "links": fs.ModeDir} {
		if got, ok := types[name]; !ok || got != want {
			t.Errorf("%s: type %v, want %v", name, got, want)
		}
	}
	if len(entries) != 7 {
		t.Errorf("%d entries, want 7 (the name that is not UTF-8 left out): %v", len(entries), types)
	}
	if target, err := img.ReadLink("link"); err != nil || target != "file" {
		t.Errorf("ReadLink: %q, %v", target, err)
	}
	for _, name := range []string{"link", "fifo", "null", "sock"} {
		if _, err := img.Open(name); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Open %s: %v, want ErrUnsupported", name, err)
		}
	}
	if fi, err := img.Stat("suid"); err != nil || fi.Mode()&fs.ModeSetuid == 0 {
		t.Errorf("suid: %v %v", fi.Mode(), err)
	}
	if fi, _ := img.Stat("file"); fi.Sys().(*Owner).Uid != 1234 || fi.Sys().(*Owner).Gid != 5678 {
		t.Errorf("file's owner: %+v", fi.Sys())
	}

	var links []fs.DirEntry
	if n := allocated(func() { links, err = img.ReadDir("links") }); n > 4<<20 {
		t.Errorf("listing 301 names of a 1 GiB file allocated %d bytes", n)
	}
	must(err)
	if len(links) != 301 {
		t.Fatalf("%d names", len(links))
	}
	if fi, _ := links[0].Info(); fi.Sys().(*Owner).Nlink != 301 || fi.Size() != 1<<30 {
		t.Errorf("a hard link: %+v, %d bytes", fi.Sys(), fi.Size())
	}
	g, err := img.Open("links/sparse")
	must(err)
	b := make([]byte, 2)
	if n, err := g.(io.ReaderAt).ReadAt(b, 512<<20-1); n != 2 || err != nil || b[0] != 0 || b[1] != 7 {
		t.Errorf("read across a hole: %v %d %v", b, n, err)
	}
}
