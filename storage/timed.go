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
// allocate, release, save_machines, machines (Machines and WalkMachines). Errors pass through
// unchanged, except that with a Name an ErrUnavailable is wrapped in an
// *UnavailableError naming the store. Wired with (*Metrics).Observe, it is the store's timing in
// provisiond_store_operation_duration_seconds; every user of the store,
// the boot path's allocations included, goes through it.
type Timed struct {
	Store
	Observe func(op string, d time.Duration)
	// Name names the store for clients: "bbolt file PATH" or "etcd".
	Name string
}

func (t *Timed) observe(op string, start time.Time) {
	if t.Observe != nil {
		t.Observe(op, time.Since(start))
	}
}

// LoadCatalog implements Store.
func (t *Timed) LoadCatalog(ctx context.Context) (*catalog.Catalog, error) {
	defer t.observe("load_catalog", time.Now())
	v, err := t.Store.LoadCatalog(ctx)
	return v, t.named(err)
}

// ReplaceCatalog implements Store.
func (t *Timed) ReplaceCatalog(ctx context.Context, c *catalog.Catalog, ops []LeaseOp) error {
	defer t.observe("replace_catalog", time.Now())
	return t.named(t.Store.ReplaceCatalog(ctx, c, ops))
}

// Leases implements Store.
func (t *Timed) Leases(ctx context.Context) ([]ipam.Lease, error) {
	defer t.observe("leases", time.Now())
	v, err := t.Store.Leases(ctx)
	return v, t.named(err)
}

// Allocate implements Store.
func (t *Timed) Allocate(ctx context.Context, pool *ipam.Pool, mac string) (ipam.Lease, error) {
	defer t.observe("allocate", time.Now())
	v, err := t.Store.Allocate(ctx, pool, mac)
	return v, t.named(err)
}

// Release implements Store.
func (t *Timed) Release(ctx context.Context, pool string, addr netip.Addr) (ipam.Lease, error) {
	defer t.observe("release", time.Now())
	v, err := t.Store.Release(ctx, pool, addr)
	return v, t.named(err)
}

// SaveMachines implements Store.
func (t *Timed) SaveMachines(ctx context.Context, ms []inventory.Machine) error {
	defer t.observe("save_machines", time.Now())
	return t.named(t.Store.SaveMachines(ctx, ms))
}

// Machines implements Store.
func (t *Timed) Machines(ctx context.Context) ([]inventory.Machine, error) {
	defer t.observe("machines", time.Now())
	v, err := t.Store.Machines(ctx)
	return v, t.named(err)
}

// WalkMachines implements Store, timed as Machines is (fn's time
// included). fn's error is returned as it is.
func (t *Timed) WalkMachines(ctx context.Context, fn func(inventory.Machine) error) error {
	defer t.observe("machines", time.Now())
	var fnErr error
	err := t.Store.WalkMachines(ctx, func(m inventory.Machine) error {
		if err := fn(m); err != nil {
			fnErr = err
			return err
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	return t.named(err)
}
