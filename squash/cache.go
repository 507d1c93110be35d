package squash

import (
	"container/list"
	"errors"
	"sync"
)

// defaultCacheBytes bounds the decompressed blocks an image keeps.
const defaultCacheBytes = 64 << 20

// blockCache keeps decompressed data and metadata blocks by disk position,
// least recently used out first, and makes concurrent readers of one block
// wait for a single decompression.
type blockCache struct {
	mu       sync.Mutex
	limit    int
	size     int                      // GUARDED_BY(mu)
	lru      *list.List               // GUARDED_BY(mu): of *cached, most recent first
	entries  map[uint64]*list.Element // GUARDED_BY(mu)
	inflight map[uint64]*loading      // GUARDED_BY(mu)
}

type cached struct {
	pos  uint64
	data []byte
	next uint64 // metadata blocks: the position of the next block
	blk  *block // data blocks: data's owner, holding a reference for the cache
}

type loading struct {
	done    chan struct{}
	waiters int32 // GUARDED_BY(blockCache.mu): readers waiting for blk
	blk     *block
	err     error
}

func newBlockCache(limit int) *blockCache {
	return &blockCache{limit: limit, lru: list.New(), entries: map[uint64]*list.Element{}, inflight: map[uint64]*loading{}}
}

func (c *blockCache) lookup(pos uint64) (*cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[pos]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*cached), true
	}
	return nil, false
}

func (c *blockCache) add(v *cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addLocked(v)
}

// addLocked adds v unless pos is cached already, and reports whether it did.
func (c *blockCache) addLocked(v *cached) bool {
	if _, ok := c.entries[v.pos]; ok {
		return false
	}
	c.entries[v.pos] = c.lru.PushFront(v)
	c.size += len(v.data)
	for c.size > c.limit && c.lru.Len() > 1 {
		old := c.lru.Remove(c.lru.Back()).(*cached)
		delete(c.entries, old.pos)
		c.size -= len(old.data)
		if old.blk != nil {
			old.blk.release()
		}
	}
	return true
}

func (c *blockCache) getMeta(pos uint64) ([]byte, uint64, bool) {
	v, ok := c.lookup(pos)
	if !ok || v.blk != nil { // a data block's bytes may be reused any time
		return nil, 0, false
	}
	return v.data, v.next, true
}

func (c *blockCache) putMeta(pos uint64, data []byte, next uint64) {
	c.add(&cached{pos: pos, data: data, next: next})
}

// errMetadata: a data block was asked for where the cache holds a
// metadata block, which only a corrupt image does.
var errMetadata = errors.New("a metadata block")

// data returns the data block at pos, with a reference the caller must
// release, loading it with load once however many ask at the same time.
func (c *blockCache) data(pos uint64, load func() (*block, error)) (*block, error) {
	c.mu.Lock()
	if e, ok := c.entries[pos]; ok {
		b := e.Value.(*cached).blk
		if b == nil {
			c.mu.Unlock()
			return nil, errMetadata
		}
		c.lru.MoveToFront(e)
		b.refs.Add(1)
		c.mu.Unlock()
		return b, nil
	}
	if l, ok := c.inflight[pos]; ok {
		l.waiters++
		c.mu.Unlock()
		<-l.done
		return l.blk, l.err
	}
	l := &loading{done: make(chan struct{})}
	c.inflight[pos] = l
	c.mu.Unlock()

	b, err := load()
	c.mu.Lock()
	delete(c.inflight, pos)
	if err == nil {
		// Counted before the block is shared: the loader, each waiter, and
		// the cache if it took the block.
		refs := 1 + l.waiters
		if c.addLocked(&cached{pos: pos, data: b.data, blk: b}) {
			refs++
		}
		b.refs.Store(refs)
	}
	c.mu.Unlock()
	l.blk, l.err = b, err
	close(l.done)
	return b, err
}

// has reports whether pos is cached or being loaded.
func (c *blockCache) has(pos uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.entries[pos]
	_, loading := c.inflight[pos]
	return ok || loading
}
