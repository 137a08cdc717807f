package catalog

import (
	"sync"
	"sync/atomic"
)

// CacheStats counts render cache lookups. One CacheStats is shared by every
// snapshot compiled with it (Options.Stats), so counts survive catalog
// changes; metrics read it.
type CacheStats struct {
	Hits, Misses atomic.Uint64
}

// renderCache holds rendered configs by key, bounded by total bytes. When
// full it starts over: a boot storm renders each distinct config once
// either way, and a simple reset cannot leak.
type renderCache struct {
	mu    sync.RWMutex
	m     map[string][]byte
	bytes int
	max   int
}

func newRenderCache(max int) *renderCache {
	if max <= 0 {
		max = 256 << 20
	}
	return &renderCache{m: map[string][]byte{}, max: max}
}

func (c *renderCache) get(key string) ([]byte, bool) {
	c.mu.RLock()
	v, ok := c.m[key]
	c.mu.RUnlock()
	return v, ok
}

func (c *renderCache) put(key string, v []byte) {
	size := len(key) + len(v)
	if size > c.max/4 {
		return // one huge entry must not evict everything
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bytes+size > c.max {
		c.m = map[string][]byte{}
		c.bytes = 0
	}
	if _, ok := c.m[key]; !ok {
		c.bytes += size
	}
	c.m[key] = v
}
