package ingest

import (
	"sync"

	"github.com/franzfs/franzfs/store"
	"github.com/franzfs/franzfs/tree"
)

// DefaultMaxReaders bounds the streams the daemon keeps open for reading
// between requests (each a few descriptors, and at most 16 idle tag files).
const DefaultMaxReaders = 64

// readers keeps streams open between reads, so that a get costs the reads
// of one offsets tuple and one payload range, not the opens and closes of
// every file. A stream is reused only while its name still leads where it
// did (an image replaced, a stream deleted and made anew are opened
// afresh); past max, the one used least recently is closed.
type readers struct {
	max int

	mu   sync.Mutex
	open map[string]*openReader // GUARDED_BY(mu)
	tick uint64                 // GUARDED_BY(mu)
}

type openReader struct {
	st     *store.Stream
	origin tree.Origin
	users  int    // GUARDED_BY(readers.mu)
	used   uint64 // GUARDED_BY(readers.mu)
	gone   bool   // GUARDED_BY(readers.mu): out of the cache; the last user closes it
}

// cached returns stream name if it is open already and still leads to
// origin, for release to give back.
func (rs *readers) cached(name string, origin tree.Origin) (*store.Stream, func(), bool) {
	rs.mu.Lock()
	or := rs.open[name]
	if or == nil || or.origin != origin {
		rs.mu.Unlock()
		return nil, nil, false
	}
	or.users++
	rs.mu.Unlock()
	if or.st.Deleted() { // get opens it afresh
		rs.release(or)
		return nil, nil, false
	}
	return or.st, func() { rs.release(or) }, true
}

// get returns stream name, which leads to origin now, opened by open if it
// is not open already; release gives it back.
func (rs *readers) get(name string, origin tree.Origin, open func() (*store.Stream, error)) (*store.Stream, func(), error) {
	rs.mu.Lock()
	or := rs.open[name]
	if or != nil && (or.origin != origin || or.st.Deleted()) {
		rs.dropLocked(name)
		or = nil
	}
	if or == nil {
		rs.mu.Unlock()
		st, err := open()
		if err != nil {
			return nil, nil, err
		}
		rs.mu.Lock()
		if or = rs.open[name]; or == nil || or.origin != origin {
			if or != nil {
				rs.dropLocked(name)
			}
			rs.makeRoomLocked()
			or = &openReader{st: st, origin: origin}
			rs.open[name] = or
		} else {
			st.Close() // opened meanwhile by another request
		}
	}
	or.users++
	rs.mu.Unlock()
	return or.st, func() { rs.release(or) }, nil
}

func (rs *readers) release(or *openReader) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.tick++
	or.users--
	or.used = rs.tick
	if or.users == 0 && or.gone {
		or.st.Close()
	}
}

// drop takes name out of the cache, as when its stream is deleted.
func (rs *readers) drop(name string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.dropLocked(name)
}

func (rs *readers) dropLocked(name string) {
	or := rs.open[name]
	if or == nil {
		return
	}
	delete(rs.open, name)
	or.gone = true
	if or.users == 0 {
		or.st.Close()
	}
}

// makeRoomLocked closes the stream used least recently, past max.
func (rs *readers) makeRoomLocked() {
	if len(rs.open) < rs.max {
		return
	}
	var oldest string
	for name, or := range rs.open {
		if oldest == "" || or.used < rs.open[oldest].used {
			oldest = name
		}
	}
	rs.dropLocked(oldest)
}

// closeAll closes every stream no request is reading; the others close
// when their readers let go.
func (rs *readers) closeAll() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for name := range rs.open {
		rs.dropLocked(name)
	}
}
