package storage

import (
	"context"
	"net/netip"
	"time"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
)

// Timed wraps a Store and reports the duration of every operation to
// Observe, by operation name: load_catalog, replace_catalog, leases,
// allocate, release, save_machines, machines. Errors pass through
// unchanged. Wired with (*Metrics).Observe, it is the store's timing in
// provisiond_store_operation_duration_seconds; every user of the store,
// the boot path's allocations included, goes through it.
type Timed struct {
	Store
	Observe func(op string, d time.Duration)
}

func (t *Timed) observe(op string, start time.Time) {
	if t.Observe != nil {
		t.Observe(op, time.Since(start))
	}
}

// LoadCatalog implements Store.
func (t *Timed) LoadCatalog(ctx context.Context) (*catalog.Catalog, error) {
	defer t.observe("load_catalog", time.Now())
	return t.Store.LoadCatalog(ctx)
}

// ReplaceCatalog implements Store.
func (t *Timed) ReplaceCatalog(ctx context.Context, c *catalog.Catalog, ops []LeaseOp) error {
	defer t.observe("replace_catalog", time.Now())
	return t.Store.ReplaceCatalog(ctx, c, ops)
}

// Leases implements Store.
func (t *Timed) Leases(ctx context.Context) ([]ipam.Lease, error) {
	defer t.observe("leases", time.Now())
	return t.Store.Leases(ctx)
}

// Allocate implements Store.
func (t *Timed) Allocate(ctx context.Context, pool *ipam.Pool, mac string) (ipam.Lease, error) {
	defer t.observe("allocate", time.Now())
	return t.Store.Allocate(ctx, pool, mac)
}

// Release implements Store.
func (t *Timed) Release(ctx context.Context, pool string, addr netip.Addr) (ipam.Lease, error) {
	defer t.observe("release", time.Now())
	return t.Store.Release(ctx, pool, addr)
}

// SaveMachines implements Store.
func (t *Timed) SaveMachines(ctx context.Context, ms []inventory.Machine) error {
	defer t.observe("save_machines", time.Now())
	return t.Store.SaveMachines(ctx, ms)
}

// Machines implements Store.
func (t *Timed) Machines(ctx context.Context) ([]inventory.Machine, error) {
	defer t.observe("machines", time.Now())
	return t.Store.Machines(ctx)
}
