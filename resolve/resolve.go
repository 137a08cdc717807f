package resolve

import (
	"context"
	"errors"
	"log/slog"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
)

// ErrNotReady is returned when there is no catalog snapshot to resolve
// against yet.
var ErrNotReady = errors.New("catalog not loaded yet")

// Resolver resolves machines against a catalog snapshot. Its zero value
// resolves without leases from a store (Preview works; a pooled group
// without Preview fails); it is safe for concurrent use.
type Resolver struct {
	// Allocator creates leases; nil only for callers that always Preview.
	Allocator Allocator
	// Leases is the in-memory lease table read before the Allocator (nil:
	// every lease comes from the Allocator). Preview needs its All
	// method (an *ipam.Table) to name the address a lease would get.
	Leases LeaseTable
	// Logger, when set, logs each lease created.
	Logger *slog.Logger
	// States, when set, gives install once its machine states (an
	// *inventory.Recorder); nil: no machine is ever answered LocalBoot.
	States StateReader
}

// StateReader is the one lookup install once needs: the state of the
// machine with an inventory key (inventory.Key), "" for a machine never
// seen. It is called only for a boot script of an install-once group or
// profile, so it must be cheap, not free.
type StateReader interface {
	State(key string) inventory.State
}

// Options change how Resolve works.
type Options struct {
	// Preview allocates nothing: a machine without a lease is told the
	// address it would get (LeasePreview) or that it would get none
	// (LeaseExhausted, LeaseNeedsMAC, each also an error).
	Preview bool
	// BootScript says the request is for a boot script (/ipxe, /grub):
	// only then does install once answer an installed machine with
	// LocalBoot.
	BootScript bool
}

// Result is a resolved machine: all that rendering its answer needs.
type Result struct {
	// Facts are the facts resolved, as given.
	Facts Facts
	// Snapshot is the catalog snapshot it was resolved against; render
	// with it.
	Snapshot *catalog.Snapshot
	// Match is the group, profile, registered machine and facts; set
	// whenever a snapshot was there, even with catalog.ErrNoMatch.
	Match *catalog.Match
	// Pool is the matched group's pool, nil without one.
	Pool *ipam.Pool
	// Lease is the machine's lease in Pool (in a preview, the address
	// it would get) when LeaseState is existing, pinned, created or
	// preview.
	Lease      ipam.Lease
	LeaseState LeaseState
	// Input is the template input; set only when Resolve returns no
	// error and LocalBoot is false.
	Input profiles.Input
	// LocalBoot: the matched group or profile installs once, the machine
	// is installed, and the request is for a boot script: the answer is
	// inventory.LocalBootIPXE (or LocalBootGRUB), not the profile. No
	// lease is taken and Input is not assembled for it.
	LocalBoot bool
}

// Resolve matches the facts against snap, gives the machine its lease when
// the group has a pool, and assembles the template input. See the package
// doc for its errors; the Result is returned with as much as was resolved
// before an error.
func (r *Resolver) Resolve(ctx context.Context, snap *catalog.Snapshot, f Facts, opt Options) (Result, error) {
	if snap == nil {
		return Result{}, ErrNotReady
	}
	m, err := snap.Resolve(f.Labels)
	return r.Matched(ctx, snap, f, m, err, opt)
}

// Matched is Resolve for facts already matched against snap: m and
// merr are what snap.Resolve(f.Labels) returned. It is for a caller that
// keeps matches (the boot server's query cache: a snapshot is immutable,
// so a query's match in it never changes); m is only read.
func (r *Resolver) Matched(ctx context.Context, snap *catalog.Snapshot, f Facts, m *catalog.Match, merr error, opt Options) (Result, error) {
	if snap == nil {
		return Result{}, ErrNotReady
	}
	res := Result{Facts: f, Snapshot: snap, Match: m}
	if merr != nil {
		return res, merr
	}
	var err error
	if opt.BootScript && r.States != nil && installOnce(m) &&
		inventory.BootDisk(inventory.Machine{State: r.States.State(inventory.Key(m.MAC, m.UUID))}, true) {
		res.LocalBoot = true
		return res, nil
	}
	var ip map[string]any
	if res.Pool = snap.Pool(m); res.Pool != nil {
		if m.MAC == "" {
			res.LeaseState = LeaseNeedsMAC
			return res, needsMAC(m.Group.ID, res.Pool.Name)
		}
		res.Lease, res.LeaseState, err = r.Lease(ctx, res.Pool, groups.MAC(m.MAC), opt)
		if err != nil {
			return res, err
		}
		if res.LeaseState == LeaseCreated && r.Logger != nil {
			r.Logger.Info("lease created", "pool", res.Pool.Name, "address", res.Lease.Address.String(), "mac", m.MAC, "group", m.Group.ID)
		}
		if opt.Preview {
			ip = res.Pool.Params(res.Lease.Address).Map()
		} else {
			ip = snap.IPData(res.Pool, res.Lease.Address)
		}
	}
	res.Input = snap.Input(m, f.RawQuery, f.ServerURL, ip)
	return res, nil
}

// installOnce reports whether m's group or profile installs once.
func installOnce(m *catalog.Match) bool {
	return m.Group != nil && (m.Group.InstallOnce || (m.Profile != nil && m.Profile.InstallOnce))
}
