package storage

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/provisiond/provisiond/ipam"
)

// Release deletes the lease of addr in pool from the store, then from the
// lease table, under the lock that serializes catalog changes: a catalog
// change refreshes the table from a read of the store, and must not read
// before the release and put the lease back after it (the table would
// then keep serving an address the store has freed). A lease pinned by a
// machine of the current catalog is refused with ErrConflict, since the
// next catalog change would pin it again. ErrNotFound when no machine
// holds addr.
func (c *Catalogs) Release(ctx context.Context, pool string, addr netip.Addr) (ipam.Lease, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.cur.Load(); cur != nil {
		for name, m := range cur.Catalog.Machines {
			if pin, ok := m.Leases[pool]; ok && pin == addr.String() {
				return ipam.Lease{}, fmt.Errorf("%w: %s in pool %s is pinned by machine %s", ErrConflict, addr, pool, name)
			}
		}
	}
	l, err := c.Store.Release(ctx, pool, addr)
	if err != nil {
		return l, err
	}
	c.Leases.Delete(l.Pool, l.MAC)
	return l, nil
}
