package resolve

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/internal/invalid"
	"github.com/provisiond/provisiond/ipam"
)

// LeaseState says where a Result's lease stands.
type LeaseState uint8

const (
	// LeaseNone: the group has no pool (or nothing matched).
	LeaseNone LeaseState = iota
	// LeaseExisting: the machine holds an automatic lease.
	LeaseExisting
	// LeasePinned: the machine holds a lease pinned by an operator.
	LeasePinned
	// LeaseCreated: this request created the machine's lease.
	LeaseCreated
	// LeasePreview: no lease yet; Lease.Address is the address a boot
	// would be given now, unless another machine takes it first.
	LeasePreview
	// LeaseExhausted: no lease, and the pool has no free address.
	LeaseExhausted
	// LeaseNeedsMAC: a pooled group matched a request without a mac.
	LeaseNeedsMAC
)

var leaseStates = [...]string{"none", "existing", "pinned", "created", "preview", "exhausted", "needs-mac"}

// String returns the state as admin select and the X-Provisiond-Lease
// header name it: none, existing, pinned, created, preview, exhausted,
// needs-mac.
func (s LeaseState) String() string {
	if int(s) < len(leaseStates) {
		return leaseStates[s]
	}
	return fmt.Sprintf("LeaseState(%d)", s)
}

// Allocator gives a machine its sticky lease in a pool: the existing one,
// or a new one that is durable when Allocate returns; ipam.ErrExhausted
// when the pool is full, storage.ErrUnavailable when the store cannot take
// writes. storage.Store satisfies it.
type Allocator interface {
	Allocate(ctx context.Context, pool *ipam.Pool, mac string) (ipam.Lease, error)
}

// LeaseTable is the in-memory mirror of the store's leases (*ipam.Table):
// Lookup answers a machine that has its lease without a store round trip;
// Put records a lease just created.
type LeaseTable interface {
	Lookup(pool, mac string) (ipam.Lease, bool)
	Put(ipam.Lease)
}

// leaseLister is what Preview needs of a LeaseTable: every lease, to find
// the lowest free address. *ipam.Table has it.
type leaseLister interface {
	All() []ipam.Lease
}

// PoolError is a machine that cannot get a lease from its group's pool:
// State is LeaseNeedsMAC (Err is catalog.ErrNeedMAC) or LeaseExhausted in
// a preview (Err is ipam.ErrExhausted).
type PoolError struct {
	Group, Pool string
	State       LeaseState
	Err         error
}

func (e *PoolError) Error() string {
	if e.State == LeaseExhausted {
		return "pool " + e.Pool + " is exhausted: a boot would be refused"
	}
	if e.Group == "" {
		return "pool " + e.Pool + ": a lease needs a mac"
	}
	return "group " + e.Group + " draws addresses from pool " + e.Pool + ": the request needs a mac"
}

func (e *PoolError) Unwrap() error { return e.Err }

// needsMAC is the error for a pooled group matched without a mac: about
// the request's "mac" field.
func needsMAC(group, pool string) error {
	return invalid.Field("mac", &PoolError{Group: group, Pool: pool, State: LeaseNeedsMAC, Err: catalog.ErrNeedMAC})
}

// Lease returns mac's lease in pool: from the lease table when it has one,
// else, unless opt.Preview, from the Allocator (then put into the table),
// with the state it is in. With opt.Preview nothing is allocated: a
// machine without a lease gets LeasePreview and the lowest address free in
// the table now, or LeaseExhausted and a *PoolError. An empty mac is
// LeaseNeedsMAC and a *PoolError. The Allocator's errors are returned
// as they are.
func (r *Resolver) Lease(ctx context.Context, pool *ipam.Pool, mac groups.MAC, opt Options) (ipam.Lease, LeaseState, error) {
	if mac == "" {
		return ipam.Lease{}, LeaseNeedsMAC, needsMAC("", pool.Name)
	}
	if r.Leases != nil {
		if l, ok := r.Leases.Lookup(pool.Name, string(mac)); ok {
			if l.Pinned {
				return l, LeasePinned, nil
			}
			return l, LeaseExisting, nil
		}
	}
	if opt.Preview {
		return r.preview(pool, mac)
	}
	if r.Allocator == nil {
		return ipam.Lease{}, LeaseNone, fmt.Errorf("resolve: no allocator to lease from pool %s", pool.Name)
	}
	l, err := r.Allocator.Allocate(ctx, pool, string(mac))
	if err != nil {
		return ipam.Lease{}, LeaseNone, err
	}
	if r.Leases != nil {
		r.Leases.Put(l)
	}
	return l, LeaseCreated, nil
}

// preview is the lease a machine without one would be given now.
func (r *Resolver) preview(pool *ipam.Pool, mac groups.MAC) (ipam.Lease, LeaseState, error) {
	taken := map[netip.Addr]bool{}
	if all, ok := r.Leases.(leaseLister); ok {
		for _, l := range all.All() {
			if l.Pool == pool.Name {
				taken[l.Address] = true
			}
		}
	}
	addr, err := pool.FirstFree(func(a netip.Addr) bool { return taken[a] })
	if err != nil {
		return ipam.Lease{}, LeaseExhausted, &PoolError{Pool: pool.Name, State: LeaseExhausted, Err: ipam.ErrExhausted}
	}
	return ipam.Lease{Pool: pool.Name, Address: addr, MAC: string(mac)}, LeasePreview, nil
}
