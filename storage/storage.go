package storage

import (
	"context"
	"errors"
	"net/netip"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
)

// Errors returned (wrapped) by every backend.
var (
	// ErrNotFound: the object or lease does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the write contradicts what is stored, for example a pin
	// on an address that another machine holds.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the store cannot take writes now (closed, or no
	// quorum); the caller may retry later.
	ErrUnavailable = errors.New("store unavailable")
	// ErrStale: a compare-and-swap write (ReplaceCatalogAt) found the
	// stored catalog at another revision than the one it was computed
	// from; nothing was written. Catalogs reads the stored catalog again
	// and re-applies the change.
	ErrStale = errors.New("the stored catalog changed meanwhile")
)

// Revision identifies one version of the stored catalog. Only the backend
// gives it a meaning (etcd: the catalog key's mod revision; bbolt: a
// digest of the stored catalog); callers compare revisions for equality
// and hand them back to ReplaceCatalogAt.
type Revision uint64

// Store is the contract every backend fulfils.
type Store interface {
	// LoadCatalog returns the stored catalog; an empty one if none was
	// ever saved.
	LoadCatalog(ctx context.Context) (*catalog.Catalog, error)
	// ReplaceCatalog atomically replaces every catalog object with c's and
	// applies the lease operations, in one transaction. If any operation
	// fails (a pin on an address another machine holds: ErrConflict; a
	// pool exhausted: ipam.ErrExhausted) nothing is written.
	ReplaceCatalog(ctx context.Context, c *catalog.Catalog, ops []LeaseOp) error
	// LoadCatalogRevision is LoadCatalog with the revision of what it
	// read, both from one consistent read.
	LoadCatalogRevision(ctx context.Context) (*catalog.Catalog, Revision, error)
	// ReplaceCatalogAt is ReplaceCatalog as a compare-and-swap: it writes
	// only if the stored catalog is still at rev (as LoadCatalogRevision
	// returned it), checked in the same transaction as the write, and
	// returns the revision of what it wrote. When the stored catalog is at
	// another revision it writes nothing and returns ErrStale; lease
	// operations fail as with ReplaceCatalog. This is how replicas that
	// share a store never undo each other's catalog writes.
	ReplaceCatalogAt(ctx context.Context, rev Revision, c *catalog.Catalog, ops []LeaseOp) (Revision, error)

	// Leases returns every lease.
	Leases(ctx context.Context) ([]ipam.Lease, error)
	// Allocate returns mac's lease in pool, creating it with the lowest
	// free assignable address when there is none. It returns
	// ipam.ErrExhausted when the pool is full. The lease is durable when
	// Allocate returns.
	Allocate(ctx context.Context, pool *ipam.Pool, mac string) (ipam.Lease, error)
	// Release deletes the lease of addr in pool (both directions), or
	// returns ErrNotFound.
	Release(ctx context.Context, pool string, addr netip.Addr) (ipam.Lease, error)

	// SaveMachines writes inventory records in one transaction. A backend
	// that several processes share merges each record with the stored one
	// of the same key (the events of both, the latest MaxEvents kept), so
	// that a machine that boots from two replicas keeps the events each
	// saw; the conformance suite's records are written the way one
	// recorder writes them, where merging and overwriting agree.
	SaveMachines(ctx context.Context, ms []inventory.Machine) error
	// Machines returns every inventory record.
	Machines(ctx context.Context) ([]inventory.Machine, error)
	// WalkMachines calls fn with every inventory record, one at a time,
	// in key order, from one consistent read: Machines without holding
	// every decoded record at once (at 100,000 booted machines, some 125
	// MB), for the recorder that a start builds from them. It stops at
	// fn's first error and returns it unwrapped. fn must not call the
	// store (bbolt calls it inside its read transaction). A record that
	// does not decode is the same error as Machines'.
	WalkMachines(ctx context.Context, fn func(inventory.Machine) error) error

	Close() error
}

// OpKind is the kind of a LeaseOp.
type OpKind int

// The lease operations a catalog replacement can carry.
const (
	// OpPin gives MAC the address Address in Pool, pinned. It fails with
	// ErrConflict when another machine holds the address; a lease MAC
	// holds elsewhere in the pool is moved.
	OpPin OpKind = iota
	// OpEnsure gives MAC a lease in Pool unless it has one.
	OpEnsure
	// OpRelease deletes MAC's leases in every pool.
	OpRelease
)

func (k OpKind) String() string {
	switch k {
	case OpPin:
		return "pin"
	case OpEnsure:
		return "ensure"
	case OpRelease:
		return "release"
	}
	return "unknown"
}

// LeaseOp is one lease change applied with a catalog replacement.
type LeaseOp struct {
	Kind    OpKind
	Pool    *ipam.Pool // nil for OpRelease
	MAC     string
	Address netip.Addr // OpPin only
	// Machine names the registry entry behind the op, for error messages.
	Machine string
}

// CollectMachines is a store's Machines made of its WalkMachines: every
// record, collected in the walk's order.
func CollectMachines(ctx context.Context, walk func(context.Context, func(inventory.Machine) error) error) ([]inventory.Machine, error) {
	var out []inventory.Machine
	err := walk(ctx, func(m inventory.Machine) error {
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
