package storage

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

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

	// mu serializes changes; cur is read without it (Current), so that a
	// change holding mu for long (ReplaceLoaded reading a directory)
	// does not hold up readers.
	mu  sync.Mutex
	cur atomic.Pointer[catalog.Snapshot]
	// rev is the stored catalog's revision that cur was read from or
	// written as; revOK says rev is known.
	rev   Revision
	revOK bool
	// served is rev for readers without mu (Revision).
	served atomic.Pointer[Revision]
}

// Current returns the snapshot being served (nil before the first load).
func (c *Catalogs) Current() *catalog.Snapshot {
	return c.cur.Load()
}

// Revision returns the stored catalog's revision that the snapshot being
// served was read from or written as; ok is false before the first load.
func (c *Catalogs) Revision() (rev Revision, ok bool) {
	if r := c.served.Load(); r != nil {
		return *r, true
	}
	return 0, false
}

// RevisionOf returns the stored catalog's revision that snap was read
// from or written as, while snap is the one served; ok is false once
// another has replaced it (a followed change, a reload). A catalog
// directory records the revision it holds (docs/etcd.md): a revision
// newer than what snap holds would claim changes it lacks.
func (c *Catalogs) RevisionOf(snap *catalog.Snapshot) (rev Revision, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if snap == nil || c.cur.Load() != snap || !c.revOK {
		return 0, false
	}
	return c.rev, true
}

// Replace makes next the catalog (see Apply): next replaces whatever is
// stored, its lease changes planned against the stored catalog as it is
// when the write lands.
func (c *Catalogs) Replace(ctx context.Context, next *catalog.Catalog) (*catalog.Snapshot, []string, error) {
	return c.ReplaceOver(ctx, next, nil)
}

// ReplaceOver is Replace that also hands over, to over, the stored
// catalog next replaces, as the write reads it (so the caller need not
// read and decode it a second time). over is called once per attempt of
// the compare-and-swap, before the write; after a successful write its
// last call was with the catalog that was replaced. over must not modify
// the catalog. A nil over is Replace.
func (c *Catalogs) ReplaceOver(ctx context.Context, next *catalog.Catalog, over func(stored *catalog.Catalog)) (*catalog.Snapshot, []string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.commitLocked(ctx, func(stored *catalog.Catalog, _ Revision) (*catalog.Catalog, error) {
		if over != nil {
			over(stored)
		}
		return next, nil
	})
}

// Update applies fn to a copy of the stored catalog and makes the result
// the catalog, as a compare-and-swap on the stored catalog's revision
// (see Apply): when another replica changed the stored catalog after it
// was read, it is read again and fn is applied again, to the fresh copy,
// at most MaxCatalogAttempts times. So fn always edits the catalog as it
// is stored when the write lands: a precondition fn checks (an If-Match
// ETag) refers to the stored version, and a change never undoes another
// replica's. When the served snapshot is the stored catalog (the usual
// case) fn gets a copy of the served one, with its Sources.
//
// fn may thus run more than once, each time on a fresh copy; it must set
// whatever it reports to its caller on every run. It must replace objects
// it changes, never modify them: the objects are shared with the served
// snapshot. An error from fn is returned as it is, nothing written.
func (c *Catalogs) Update(ctx context.Context, fn func(*catalog.Catalog) error) (*catalog.Snapshot, []string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.commitLocked(ctx, func(stored *catalog.Catalog, rev Revision) (*catalog.Catalog, error) {
		next := stored
		if cur := c.cur.Load(); cur != nil && c.revOK && rev == c.rev {
			next = cur.Catalog.Clone()
		}
		if err := fn(next); err != nil {
			return nil, err
		}
		return next, nil
	})
}

func (c *Catalogs) commitLocked(ctx context.Context, next func(*catalog.Catalog, Revision) (*catalog.Catalog, error)) (*catalog.Snapshot, []string, error) {
	snap, warnings, rev, err := commit(ctx, c.Store, c.Leases, c.Options, c.servedAt, next)
	if err != nil {
		return nil, warnings, err
	}
	c.rev, c.revOK = rev, true
	c.served.Store(&rev)
	c.set(snap)
	return snap, warnings, nil
}

// servedAt returns the served catalog when rev is the revision it was
// read from or written as (commit's served), else nil. Called with mu
// held.
func (c *Catalogs) servedAt(rev Revision) *catalog.Catalog {
	if cur := c.cur.Load(); cur != nil && c.revOK && rev == c.rev {
		return cur.Catalog
	}
	return nil
}

// ReplaceLoaded is ReplaceOver of the catalog load returns, holding the
// lock from before load is called: no other change (an admin API write,
// another replica's write being followed) lands between the read of a
// catalog directory and its write, so none is lost to a directory read
// before it. Readers (Current) are not held up. An error from load is
// returned as it is, nothing written; next is the loaded catalog (nil
// when load failed). over (when not nil) sees the stored catalog the
// write replaces, on each attempt, before it writes; an error from it
// refuses the write, returned as it is.
func (c *Catalogs) ReplaceLoaded(ctx context.Context, load func() (*catalog.Catalog, error), over func(stored *catalog.Catalog) error) (next *catalog.Catalog, snap *catalog.Snapshot, warnings []string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if next, err = load(); err != nil {
		return nil, nil, nil, err
	}
	snap, warnings, err = c.commitLocked(ctx, func(stored *catalog.Catalog, _ Revision) (*catalog.Catalog, error) {
		if over != nil {
			if err := over(stored); err != nil {
				return nil, err
			}
		}
		return next, nil
	})
	return next, snap, warnings, err
}

// LoadStoredIfAny is LoadStored when the store holds a catalog (any
// profile, group, template, pool or machine). When the stored catalog is
// empty it changes nothing and returns ok false: a first start.
func (c *Catalogs) LoadStoredIfAny(ctx context.Context) (snap *catalog.Snapshot, warnings []string, ok bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	stored, rev, err := c.Store.LoadCatalogRevision(ctx)
	if err != nil {
		return nil, nil, false, fmt.Errorf("reading the stored catalog: %w", err)
	}
	if isEmpty(stored) {
		return nil, nil, false, nil
	}
	snap, warnings, err = c.serveStoredLocked(ctx, stored, rev)
	return snap, warnings, err == nil, err
}

func isEmpty(c *catalog.Catalog) bool {
	if len(c.Profiles)+len(c.Groups)+len(c.Pools)+len(c.Machines) > 0 {
		return false
	}
	for _, ts := range c.Templates {
		if len(ts) > 0 {
			return false
		}
	}
	return true
}

// LoadStored serves the catalog and leases as they are in the store,
// without writing: at start without a directory, and when another replica
// changed the store.
func (c *Catalogs) LoadStored(ctx context.Context) (*catalog.Snapshot, []string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	stored, rev, err := c.Store.LoadCatalogRevision(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the stored catalog: %w", err)
	}
	return c.serveStoredLocked(ctx, stored, rev)
}

func (c *Catalogs) serveStoredLocked(ctx context.Context, stored *catalog.Catalog, rev Revision) (*catalog.Snapshot, []string, error) {
	leases, err := c.Store.Leases(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("reading leases: %w", err)
	}
	snap, warnings, err := catalog.Compile(stored, c.Leases, c.Options)
	if err != nil {
		return nil, warnings, fmt.Errorf("stored catalog: %w", err)
	}
	c.Leases.Replace(leases)
	c.rev, c.revOK = rev, true
	c.served.Store(&rev)
	c.set(snap)
	return snap, warnings, nil
}

func (c *Catalogs) set(snap *catalog.Snapshot) {
	c.cur.Store(snap)
	if c.Swap != nil {
		c.Swap(snap)
	}
}
