package storage

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/ipam"
)

// ErrWouldRelease is returned (wrapped, in a *ReleaseError) when a catalog
// change would drop every group or release leases of registered machines,
// and the operator did not say so explicitly.
var ErrWouldRelease = errors.New("the change would release leases or drop every group")

// AllowReleaseFlag and AllowReleaseParam are how an operator says so: the
// serve flag for --catalog loads, the query parameter for admin API
// writes. Refusals name them.
const (
	AllowReleaseFlag  = "--allow-release"
	AllowReleaseParam = "allow_release=true"
)

// ReleaseError is a refused catalog change: what it would have dropped.
// It is also ErrConflict (the change contradicts what is stored), so
// transports answer it 409.
type ReleaseError struct {
	// Groups is the number of groups the stored catalog has, when the new
	// one has none; 0 otherwise.
	Groups int
	// Released are the leases that would be released, with the machine
	// that held them.
	Released []ReleasedLease
}

// ReleasedLease is one lease a change would release.
type ReleasedLease struct {
	Machine string // registry entry name in the stored catalog
	ipam.Lease
}

func (e *ReleaseError) Error() string {
	var b strings.Builder
	b.WriteString("refused: ")
	if e.Groups > 0 {
		fmt.Fprintf(&b, "the new catalog has no groups (the stored one has %d): an empty or wrong catalog directory?", e.Groups)
		if len(e.Released) > 0 {
			b.WriteString(" It would also release ")
		}
	} else {
		b.WriteString("it would release ")
	}
	if n := len(e.Released); n > 0 {
		fmt.Fprintf(&b, "%d leases of machines it no longer registers: ", n)
		const show = 20
		for i, r := range e.Released {
			if i == show {
				fmt.Fprintf(&b, ", and %d more", n-show)
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			pinned := ""
			if r.Pinned {
				pinned = " pinned"
			}
			fmt.Fprintf(&b, "%s %s/%s (%s%s)", r.Machine, r.Pool, r.Address, r.MAC, pinned)
		}
		b.WriteString(". Their addresses would go to other machines while these may still use them.")
	}
	fmt.Fprintf(&b, " To do it on purpose: %s (serve, for --catalog) or %s (admin API)", AllowReleaseFlag, AllowReleaseParam)
	return b.String()
}

// Unwrap makes a ReleaseError both ErrWouldRelease and ErrConflict.
func (e *ReleaseError) Unwrap() []error { return []error{ErrWouldRelease, ErrConflict} }

// CheckReleases refuses, with a *ReleaseError, a change from old to next
// that drops every group old has, or whose lease plan (PlanLeases)
// releases leases that registered machines hold (OpRelease: machines
// registered in old and not in next; their pins go with them). leases are
// the leases held now. With allow it returns nil: the operator said so.
// old nil (nothing stored yet) refuses nothing.
func CheckReleases(old, next *catalog.Catalog, plan []LeaseOp, leases []ipam.Lease, allow bool) error {
	if allow || old == nil {
		return nil
	}
	e := &ReleaseError{}
	if len(old.Groups) > 0 && len(next.Groups) == 0 {
		e.Groups = len(old.Groups)
	}
	released := map[string]string{} // mac -> machine
	for _, op := range plan {
		if op.Kind == OpRelease {
			released[op.MAC] = op.Machine
		}
	}
	if len(released) > 0 {
		for _, l := range leases {
			if name, ok := released[l.MAC]; ok {
				e.Released = append(e.Released, ReleasedLease{Machine: name, Lease: l})
			}
		}
	}
	if e.Groups == 0 && len(e.Released) == 0 {
		return nil
	}
	sort.Slice(e.Released, func(i, j int) bool {
		a, b := e.Released[i], e.Released[j]
		if a.Machine != b.Machine {
			return a.Machine < b.Machine
		}
		if a.Pool != b.Pool {
			return a.Pool < b.Pool
		}
		return a.Address.Less(b.Address)
	})
	return e
}

type releaseGuardKey struct{}

// GuardReleases marks ctx's catalog change as one that Guarded checks
// with CheckReleases; allow is the operator's explicit consent (the serve
// flag --allow-release for the --catalog load at start, the admin API's
// allow_release=true for one write), which lets it through. A change
// whose ctx is not marked is not checked: an admin API DELETE of one
// machine is already explicit.
func GuardReleases(ctx context.Context, allow bool) context.Context {
	return context.WithValue(ctx, releaseGuardKey{}, allow)
}

// releaseGuard reports whether ctx's change is to be checked: marked by
// GuardReleases, without consent.
func releaseGuard(ctx context.Context) bool {
	allow, marked := ctx.Value(releaseGuardKey{}).(bool)
	return marked && !allow
}

// checkGuarded runs CheckReleases for a change that GuardReleases marked
// without consent, in Apply and Catalogs.Update (storage.commit), between
// planning the lease changes and the compare-and-swap that writes them.
// It reads the leases only when the plan releases any.
func checkGuarded(ctx context.Context, s Store, stored, next *catalog.Catalog, ops []LeaseOp) error {
	var leases []ipam.Lease
	for _, op := range ops {
		if op.Kind == OpRelease {
			var err error
			if leases, err = s.Leases(ctx); err != nil {
				return fmt.Errorf("reading leases: %w", err)
			}
			break
		}
	}
	return CheckReleases(stored, next, ops, leases, false)
}
