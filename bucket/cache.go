package bucket

import (
	"container/list"
	"sync"
)

// DefaultCacheBytes bounds the chunks of objects a store keeps in memory,
// whatever the number of images read: past it, the chunk used least
// recently goes first.
const DefaultCacheBytes = 256 << 20

// chunkCache holds the chunks of every object of a store.
type chunkCache struct {
	mu    sync.Mutex
	max   int                        // chunks
	lru   list.List                  // GUARDED_BY(mu): of *chunk, the most recently used in front
	index map[chunkKey]*list.Element // GUARDED_BY(mu)
}

type chunkKey struct {
	o *Object
	i int64
}

// evictScan bounds how far from the back an eviction looks for a chunk
// that is not in flight.
const evictScan = 64

// getLocked returns the chunk of key, made (and to be fetched by the
// caller) if made is true.
func (c *chunkCache) getLocked(key chunkKey) (ch *chunk, made bool) {
	if e := c.index[key]; e != nil {
		c.lru.MoveToFront(e)
		return e.Value.(*chunk), false
	}
	if c.index == nil {
		c.index = map[chunkKey]*list.Element{}
	}
	for e, k := c.lru.Back(), 0; e != nil && c.lru.Len() >= c.max && k < evictScan; k++ {
		prev := e.Prev()
		select {
		case <-e.Value.(*chunk).ready:
			delete(c.index, e.Value.(*chunk).key)
			c.lru.Remove(e)
		default: // in flight: someone waits for it
		}
		e = prev
	}
	ch = &chunk{key: key, ready: make(chan struct{})}
	c.index[key] = c.lru.PushFront(ch)
	return ch, true
}

// remove drops ch, if it is still the cache's chunk for its key.
func (c *chunkCache) remove(ch *chunk) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.index[ch.key]; e != nil && e.Value.(*chunk) == ch {
		delete(c.index, ch.key)
		c.lru.Remove(e)
	}
}
