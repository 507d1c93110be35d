package store

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
)

// A live stream's payloads and offsets are also mapped into memory, so
// that the many small reads of tag views, multigets and searches are
// copies rather than system calls. The mapping reaches past the end of
// the file, to cover growth without mapping again; only bytes of visible
// records are ever read from it, and those exist. A file cut short under
// the mapping (by hand: the writer never removes a visible byte) faults,
// which becomes an error, not a crash.

// mapRead is the largest read served from the mapping. Larger ones are
// preads: their system call costs little beside the copy, and they leave
// no pages of a big record mapped in the reader (which would count in its
// resident memory, though the kernel may reclaim them).
const mapRead = 64 << 10

// mapLimit bounds what is mapped of one file; past it reads are preads.
const mapLimit = 64 << 30

// mapMin is the least a file is mapped with, past its size: a growing
// stream is mapped again each time it doubles, from this on.
const mapMin = 64 << 20

type mapping struct {
	f *os.File

	mu   sync.RWMutex
	data []byte // GUARDED_BY(mu): the file from byte 0; nil once closed or unmappable
	done bool   // GUARDED_BY(mu)
}

func newMapping(f File) *mapping {
	osf, ok := f.(*os.File)
	if !ok {
		return nil
	}
	return &mapping{f: osf}
}

// copyAt copies the bytes at off into p if the mapping holds them, and
// says whether it did.
func (m *mapping) copyAt(p []byte, off int64) (bool, error) {
	if off < 0 {
		return false, nil
	}
	return m.within(off+int64(len(p)), func(data []byte) { copy(p, data[off:]) })
}

// within calls fn with the file's first end bytes, mapped, under one fault
// guard, and says whether it did: it does not if the file cannot be mapped
// that far. fn may only read data, and must not call into the mapping.
func (m *mapping) within(end int64, fn func(data []byte)) (bool, error) {
	m.mu.RLock()
	if end > int64(len(m.data)) {
		m.mu.RUnlock()
		if m.grow(end) {
			return m.within(end, fn)
		}
		return false, nil
	}
	defer m.mu.RUnlock()
	return true, faultless(func() { fn(m.data[:end]) })
}

// grow maps the file anew, if it holds end bytes now and they are within
// mapLimit, and says whether it did.
func (m *mapping) grow(end int64) bool {
	if end > mapLimit {
		return false
	}
	fi, err := m.f.Stat()
	if err != nil || fi.Size() < end {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done {
		return false
	}
	if int64(len(m.data)) >= end {
		return true // mapped meanwhile
	}
	n := min(max(2*fi.Size(), mapMin), mapLimit)
	data, err := syscall.Mmap(int(m.f.Fd()), 0, int(n), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return false
	}
	if m.data != nil {
		syscall.Munmap(m.data)
	}
	m.data = data
	return true
}

// close unmaps the file, once no copy uses it.
func (m *mapping) close() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.data != nil {
		syscall.Munmap(m.data)
	}
	m.data, m.done = nil, true
}

// errFault is a read of a mapped file that was cut short under it.
var errFault = errors.New("file cut short while mapped")

// faultless runs copyFn, turning a memory fault into errFault.
func faultless(copyFn func()) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			var re runtime.Error
			if e, ok := r.(runtime.Error); ok && isFault(e) {
				re = e
			}
			if re == nil {
				panic(r)
			}
			err = fmt.Errorf("%w: %v", errFault, re)
		}
	}()
	copyFn()
	return nil
}

// isFault tells a memory fault from other runtime errors: it carries the
// faulting address.
func isFault(e runtime.Error) bool {
	_, ok := e.(interface{ Addr() uintptr })
	return ok
}
