// Package readers keeps streams open between reads, for servers that read
// the same streams request after request.
package readers

import (
	"sync"

	"github.com/franzfs/franzfs/store"
	"github.com/franzfs/franzfs/tree"
)

// DefaultMax bounds the streams a server keeps open for reading between
// requests (each a few descriptors, and at most 16 idle tag files).
const DefaultMax = 64

// A Cache keeps streams open between reads, so that a get costs the reads
// of one offsets tuple and one payload range, not the opens and closes of
// every file. A stream is reused only while its name still leads where it
// did (an image replaced, a stream deleted and made anew are opened
// afresh); past max, the one used least recently is closed.
type Cache struct {
	max int

	mu   sync.Mutex
	open map[string]*openReader // GUARDED_BY(mu)
	tick uint64                 // GUARDED_BY(mu)
}

// New returns a cache that keeps at most max streams open.
func New(max int) *Cache {
	return &Cache{max: max, open: map[string]*openReader{}}
}

type openReader struct {
	st     *store.Stream
	origin tree.Origin
	users  int    // GUARDED_BY(Cache.mu)
	used   uint64 // GUARDED_BY(Cache.mu)
	gone   bool   // GUARDED_BY(Cache.mu): out of the cache; the last user closes it
}

// Cached returns stream name if it is open already and still leads to
// origin, for release to give back.
func (rs *Cache) Cached(name string, origin tree.Origin) (*store.Stream, func(), bool) {
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

// Get returns stream name, which leads to origin now, opened by open if it
// is not open already; release gives it back.
func (rs *Cache) Get(name string, origin tree.Origin, open func() (*store.Stream, error)) (*store.Stream, func(), error) {
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

func (rs *Cache) release(or *openReader) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.tick++
	or.users--
	or.used = rs.tick
	if or.users == 0 && or.gone {
		or.st.Close()
	}
}

// Drop takes name out of the cache, as when its stream is deleted.
func (rs *Cache) Drop(name string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.dropLocked(name)
}

func (rs *Cache) dropLocked(name string) {
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
func (rs *Cache) makeRoomLocked() {
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

// CloseAll closes every stream no request is reading; the others close
// when their readers let go.
func (rs *Cache) CloseAll() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for name := range rs.open {
		rs.dropLocked(name)
	}
}

// Len is how many streams are open in the cache.
func (rs *Cache) Len() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return len(rs.open)
}
