package storage

import (
	"context"
	"fmt"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/ipam"
)

// Apply makes c the catalog: it compiles and validates c, plans the lease
// changes against the stored catalog (PlanLeases), writes catalog and
// leases in one transaction, refreshes the lease table from the store and
// returns the snapshot to serve. On any error nothing is written and the
// table is unchanged, so the caller keeps serving its old snapshot.
func Apply(ctx context.Context, s Store, table *ipam.Table, c *catalog.Catalog, opt catalog.Options) (*catalog.Snapshot, []string, error) {
	snap, warnings, err := catalog.Compile(c, table, opt)
	if err != nil {
		return nil, warnings, err
	}
	old, err := s.LoadCatalog(ctx)
	if err != nil {
		return nil, warnings, fmt.Errorf("reading the stored catalog: %w", err)
	}
	if err := s.ReplaceCatalog(ctx, c, PlanLeases(old, snap)); err != nil {
		return nil, warnings, err
	}
	leases, err := s.Leases(ctx)
	if err != nil {
		return nil, warnings, fmt.Errorf("reading leases: %w", err)
	}
	table.Replace(leases)
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
	return snap, warnings, nil
}
