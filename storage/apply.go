package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/ipam"
)

// MaxCatalogAttempts bounds how many times one catalog change is computed
// and written: each time another writer (another replica) changed the
// stored catalog between the read and the compare-and-swap, the change is
// computed again from the fresh stored catalog. Past this many attempts
// the change fails with ErrUnavailable.
const MaxCatalogAttempts = 10

// Apply makes c the catalog: it compiles and validates c, plans the lease
// changes against the stored catalog (PlanLeases), writes catalog and
// leases in one transaction, refreshes the lease table from the store and
// returns the snapshot to serve. The write is a compare-and-swap on the
// stored catalog's revision: when another writer changed it after it was
// read, the lease changes are planned again against the new one. On any
// error nothing is written and the table is unchanged, so the caller keeps
// serving its old snapshot.
func Apply(ctx context.Context, s Store, table *ipam.Table, c *catalog.Catalog, opt catalog.Options) (*catalog.Snapshot, []string, error) {
	snap, warnings, _, err := commit(ctx, s, table, opt, nil, func(*catalog.Catalog, Revision) (*catalog.Catalog, error) {
		return c, nil
	})
	return snap, warnings, err
}

// commit reads the stored catalog and its revision, asks next for the
// catalog to write, compiles it, and writes it with its lease changes at
// that revision; on ErrStale it starts over, at most MaxCatalogAttempts
// times. It returns the snapshot and the revision written.
//
// served (nil: none) returns the catalog being served when rev is the
// revision it was read from or written as, else nil: when the store can
// tell its revision without decoding the catalog (revisionReader) and
// served knows it, that catalog stands for the stored one instead of a
// decoded copy. It has the stored content (it was read from it or written
// as it), and the write's compare-and-swap still checks the revision, so
// a change landing in between is ErrStale and read again, as before.
func commit(ctx context.Context, s Store, table *ipam.Table, opt catalog.Options,
	served func(rev Revision) *catalog.Catalog,
	next func(stored *catalog.Catalog, rev Revision) (*catalog.Catalog, error)) (*catalog.Snapshot, []string, Revision, error) {
	for attempt := 1; ; attempt++ {
		stored, rev, err := readStored(ctx, s, served)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("reading the stored catalog: %w", err)
		}
		c, err := next(stored, rev)
		if err != nil {
			return nil, nil, 0, err
		}
		snap, warnings, err := catalog.Compile(c, table, opt)
		if err != nil {
			return nil, warnings, 0, err
		}
		ops := PlanLeases(stored, snap)
		if releaseGuard(ctx) {
			// Checked against the stored catalog of this revision, so a
			// retry after another replica's write is checked again.
			if err := checkGuarded(ctx, s, stored, c, ops); err != nil {
				return nil, warnings, 0, err
			}
		}
		written, err := s.ReplaceCatalogAt(ctx, rev, c, ops)
		if errors.Is(err, ErrStale) {
			if attempt >= MaxCatalogAttempts {
				return nil, warnings, 0, fmt.Errorf("%w: the stored catalog changed under this write %d times in a row (other replicas writing); try again: %w",
					ErrUnavailable, attempt, err)
			}
			if ctx.Err() != nil {
				return nil, warnings, 0, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
			}
			continue
		}
		if err != nil {
			return nil, warnings, 0, err
		}
		leases, err := s.Leases(ctx)
		if err != nil {
			return nil, warnings, 0, fmt.Errorf("reading leases: %w", err)
		}
		table.Replace(leases)
		return snap, append(warnings, leaseWarnings(c, leases)...), written, nil
	}
}

// readStored returns the stored catalog and its revision: the served one
// (see commit) when the store's revision says it is the stored one, else
// as the store decodes it.
func readStored(ctx context.Context, s Store, served func(Revision) *catalog.Catalog) (*catalog.Catalog, Revision, error) {
	if served != nil {
		rev, ok, err := storedRevision(ctx, s)
		if err != nil {
			return nil, 0, err
		}
		if ok {
			if c := served(rev); c != nil {
				return c, rev, nil
			}
		}
	}
	return s.LoadCatalogRevision(ctx)
}

// leaseWarnings names the stored leases the catalog c does not account
// for: leases of pools it no longer has, and leases outside their pool's
// network. They are kept.
func leaseWarnings(c *catalog.Catalog, leases []ipam.Lease) []string {
	var warnings []string
	orphans, outside := map[string]int{}, map[string]int{}
	for _, l := range leases {
		p, ok := c.Pools[l.Pool]
		switch {
		case !ok:
			orphans[l.Pool]++
		case !p.Prefix().Contains(l.Address):
			outside[l.Pool]++
		}
	}
	for _, pool := range sorted(orphans) {
		warnings = append(warnings, fmt.Sprintf("pool %q is no longer in the catalog; its %d leases are kept", pool, orphans[pool]))
	}
	for _, pool := range sorted(outside) {
		warnings = append(warnings, fmt.Sprintf("pool %q: %d leases lie outside its network %s; they are kept", pool, outside[pool], c.Pools[pool].CIDR))
	}
	return warnings
}
