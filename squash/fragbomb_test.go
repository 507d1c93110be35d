package squash

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Damage anywhere in an lz4 image's fragment table costs no more memory to
// read than the whole undamaged image does: entries are read one at a
// time, each checked, and blocks decoded go through the bounded cache.
func TestDamagedFragmentTableMemory(t *testing.T) {
	src := t.TempDir()
	for i := range 200 {
		os.WriteFile(filepath.Join(src, fmt.Sprintf("f%03d", i)), bytes.Repeat([]byte{byte(i)}, 1000+i*7), 0o644)
	}
	good := mksquashfs(t, src, "-comp", "lz4", "-b", "4096")
	data, _ := os.ReadFile(good)
	img, err := Open(good)
	if err != nil {
		t.Fatal(err)
	}
	sb := img.sb
	img.Close()
	first := binary.LittleEndian.Uint64(data[sb.fragmentTable:])
	end := sb.fragmentTable + uint64(sb.fragments+511)/512*8
	t.Logf("%d fragments, table bytes %d to %d", sb.fragments, first, end)

	allocated := func(b []byte) (uint64, error) {
		p := filepath.Join(t.TempDir(), "img.squashfs")
		os.WriteFile(p, b, 0o644)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		img, err := Open(p)
		if err != nil {
			return 0, err
		}
		// Every file, on past errors, as find | xargs cat would.
		entries, err := img.ReadDir(".")
		for _, e := range entries {
			if f, ferr := img.Open(e.Name()); ferr == nil {
				_, ferr = io.Copy(io.Discard, f.(io.Reader))
				err = cmp.Or(err, ferr)
			}
		}
		img.Close()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc, err
	}
	base, err := allocated(data)
	if err != nil {
		t.Fatal(err)
	}
	worst, failed := uint64(0), 0
	for at := first; at < end; at++ {
		for _, mask := range []byte{0x80, 0xff} {
			b := bytes.Clone(data)
			b[at] ^= mask
			n, err := allocated(b)
			if err != nil {
				failed++
			}
			worst = max(worst, n)
		}
	}
	t.Logf("undamaged: %d KiB allocated; worst of %d mutants: %d KiB; %d failed", base>>10, 2*(end-first), worst>>10, failed)
	if worst > base+(8<<20) {
		t.Errorf("a damaged fragment table made reading allocate %d MiB, against %d MiB undamaged", worst>>20, base>>20)
	}
}
