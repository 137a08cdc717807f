package ipam

import (
	"net/netip"
	"sync"
	"sync/atomic"
)

// Lease is one address held by one machine in one pool.
type Lease struct {
	Pool    string     `json:"pool"`
	Address netip.Addr `json:"address"`
	MAC     string     `json:"mac"`
	// Pinned is true for addresses set by an operator (a registry pin),
	// false for automatic leases.
	Pinned bool `json:"pinned"`
	// Created is the Unix time in seconds the lease was first written.
	Created int64 `json:"created"`
}

// Table is the in-memory mirror of the store's leases, read by the boot
// path so that a machine that already has its address is answered without
// touching storage. It is safe for concurrent use. Generation changes on
// every change, so caches that depend on the member list can tell.
type Table struct {
	mu    sync.RWMutex
	byMAC map[string]map[string]Lease // pool -> mac -> lease
	gen   atomic.Uint64
}

// NewTable returns a table holding leases.
func NewTable(leases []Lease) *Table {
	t := &Table{byMAC: map[string]map[string]Lease{}}
	for _, l := range leases {
		t.put(l)
	}
	return t
}

func (t *Table) put(l Lease) {
	m := t.byMAC[l.Pool]
	if m == nil {
		m = map[string]Lease{}
		t.byMAC[l.Pool] = m
	}
	m[l.MAC] = l
}

// Lookup returns the lease of mac in pool.
func (t *Table) Lookup(pool, mac string) (Lease, bool) {
	t.mu.RLock()
	l, ok := t.byMAC[pool][mac]
	t.mu.RUnlock()
	return l, ok
}

// Put records a lease (after the store committed it).
func (t *Table) Put(l Lease) {
	t.mu.Lock()
	t.put(l)
	t.mu.Unlock()
	t.gen.Add(1)
}

// Replace swaps the whole content, after a reload from the store.
func (t *Table) Replace(leases []Lease) {
	fresh := NewTable(leases)
	t.mu.Lock()
	t.byMAC = fresh.byMAC
	t.mu.Unlock()
	t.gen.Add(1)
}

// Delete forgets the lease of mac in pool.
func (t *Table) Delete(pool, mac string) {
	t.mu.Lock()
	delete(t.byMAC[pool], mac)
	t.mu.Unlock()
	t.gen.Add(1)
}

// Generation returns a number that changes whenever the table does.
func (t *Table) Generation() uint64 { return t.gen.Load() }

// All returns every lease, in no particular order.
func (t *Table) All() []Lease {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []Lease
	for _, m := range t.byMAC {
		for _, l := range m {
			out = append(out, l)
		}
	}
	return out
}

// Count returns the number of leases in pool.
func (t *Table) Count(pool string) int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.byMAC[pool])
}
