package catalog

import (
	"sync"
	"sync/atomic"

	"github.com/provisiond/provisiond/profiles"
)

// CacheStats counts render cache lookups. One CacheStats is shared by every
// snapshot compiled with it (Options.Stats), so counts survive catalog
// changes; metrics read it.
type CacheStats struct {
	Hits, Misses atomic.Uint64
}

// renderCache holds renderings by key, bounded by total bytes. When full
// it starts over: a boot storm renders each distinct config once either
// way, and a simple reset cannot leak. A snapshot owns its caches, so a
// catalog change starts them afresh; keys carry the lease address and,
// for templates that call members, the lease table's generation.
type renderCache[V any] struct {
	mu    sync.RWMutex
	m     map[string]V
	bytes int
	max   int
	size  func(V) int
}

// defaultCacheBytes bounds each render cache of a snapshot when
// Options.CacheBytes is 0. The caches are live heap beside the catalog,
// and the garbage collector lets the heap grow in proportion to what is
// live (GOGC): a bound of 256 MiB (before) let a fleet of 100,000
// machines asking again fill up to three times that. A storm asks each
// machine's answers once or twice, so it gains little from more; 16 MiB
// holds the /ipxe, /ignition and /metadata answers of about 10,000
// matchbox machines.
const defaultCacheBytes = 16 << 20

func newRenderCache[V any](max int, size func(V) int) *renderCache[V] {
	if max <= 0 {
		max = defaultCacheBytes
	}
	return &renderCache[V]{m: map[string]V{}, max: max, size: size}
}

// get looks key up; the conversion to string in the index expression
// does not copy.
func (c *renderCache[V]) get(key []byte) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[string(key)]
	c.mu.RUnlock()
	return v, ok
}

func (c *renderCache[V]) put(key string, v V) {
	size := len(key) + c.size(v)
	if size > c.max/4 {
		return // one huge entry must not evict everything
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bytes+size > c.max {
		c.m = map[string]V{}
		c.bytes = 0
	}
	if _, ok := c.m[key]; !ok {
		c.bytes += size
	}
	c.m[key] = v
}

func bytesSize(b []byte) int { return len(b) }

func bootSize(b profiles.Boot) int {
	n := len(b.Kernel) + 64
	for _, s := range b.Initrd {
		n += len(s) + 16
	}
	for _, s := range b.Args {
		n += len(s) + 16
	}
	return n
}
