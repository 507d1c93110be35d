package squash

import (
	"container/list"
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
}

type loading struct {
	done chan struct{}
	data []byte
	err  error
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
	if _, ok := c.entries[v.pos]; ok {
		return
	}
	c.entries[v.pos] = c.lru.PushFront(v)
	c.size += len(v.data)
	for c.size > c.limit && c.lru.Len() > 1 {
		old := c.lru.Remove(c.lru.Back()).(*cached)
		delete(c.entries, old.pos)
		c.size -= len(old.data)
	}
}

func (c *blockCache) getMeta(pos uint64) ([]byte, uint64, bool) {
	v, ok := c.lookup(pos)
	if !ok {
		return nil, 0, false
	}
	return v.data, v.next, true
}

func (c *blockCache) putMeta(pos uint64, data []byte, next uint64) {
	c.add(&cached{pos: pos, data: data, next: next})
}

// data returns the block at pos, loading it with load once however many
// ask at the same time.
func (c *blockCache) data(pos uint64, load func() ([]byte, error)) ([]byte, error) {
	if v, ok := c.lookup(pos); ok {
		return v.data, nil
	}
	c.mu.Lock()
	if l, ok := c.inflight[pos]; ok {
		c.mu.Unlock()
		<-l.done
		return l.data, l.err
	}
	l := &loading{done: make(chan struct{})}
	c.inflight[pos] = l
	c.mu.Unlock()

	l.data, l.err = load()
	if l.err == nil {
		c.add(&cached{pos: pos, data: l.data})
	}
	c.mu.Lock()
	delete(c.inflight, pos)
	c.mu.Unlock()
	close(l.done)
	return l.data, l.err
}

// has reports whether pos is cached or being loaded.
func (c *blockCache) has(pos uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.entries[pos]
	_, loading := c.inflight[pos]
	return ok || loading
}
