package storage

import (
	"context"
	"fmt"
	"sync"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/ipam"
)

// Catalogs owns the catalog being served. Every change, whether a
// directory loaded at start or on SIGHUP, an admin API write, or a change
// another replica made to the store, goes through it one at a time: it is
// validated and compiled, written to the store with its lease changes, and
// the resulting snapshot is handed to Swap. A change that fails leaves
// store, lease table and the served snapshot as they were.
type Catalogs struct {
	Store   Store
	Leases  *ipam.Table
	Options catalog.Options
	// Swap receives every new snapshot, under the lock, so snapshots are
	// swapped in the order they were made.
	Swap func(*catalog.Snapshot)

	mu  sync.Mutex
	cur *catalog.Snapshot
}

// Current returns the snapshot being served (nil before the first load).
func (c *Catalogs) Current() *catalog.Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

// Replace makes next the catalog (see Apply).
func (c *Catalogs) Replace(ctx context.Context, next *catalog.Catalog) (*catalog.Snapshot, []string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.replaceLocked(ctx, next)
}

func (c *Catalogs) replaceLocked(ctx context.Context, next *catalog.Catalog) (*catalog.Snapshot, []string, error) {
	snap, warnings, err := Apply(ctx, c.Store, c.Leases, next, c.Options)
	if err != nil {
		return nil, warnings, err
	}
	c.set(snap)
	return snap, warnings, nil
}

// Update applies fn to a copy of the current catalog and makes the result
// the catalog. fn must replace objects it changes, never modify them: the
// objects are shared with the served snapshot.
func (c *Catalogs) Update(ctx context.Context, fn func(*catalog.Catalog) error) (*catalog.Snapshot, []string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := catalog.New()
	if c.cur != nil {
		next = c.cur.Catalog.Clone()
	}
	if err := fn(next); err != nil {
		return nil, nil, err
	}
	return c.replaceLocked(ctx, next)
}

// LoadStored serves the catalog and leases as they are in the store,
// without writing: at start without a directory, and when another replica
// changed the store.
func (c *Catalogs) LoadStored(ctx context.Context) (*catalog.Snapshot, []string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	stored, err := c.Store.LoadCatalog(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the stored catalog: %w", err)
	}
	leases, err := c.Store.Leases(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("reading leases: %w", err)
	}
	snap, warnings, err := catalog.Compile(stored, c.Leases, c.Options)
	if err != nil {
		return nil, warnings, fmt.Errorf("stored catalog: %w", err)
	}
	c.Leases.Replace(leases)
	c.set(snap)
	return snap, warnings, nil
}

func (c *Catalogs) set(snap *catalog.Snapshot) {
	c.cur = snap
	if c.Swap != nil {
		c.Swap(snap)
	}
}
