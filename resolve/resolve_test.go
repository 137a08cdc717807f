package resolve

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/internal/invalid"
	"github.com/provisiond/provisiond/ipam"
)

// testDoc: a pooled services group (two addresses), a worker group
// without pool, and node1 registered by mac with the services role.
const testDoc = `{
  "profiles": [{"id": "p", "boot": {"kernel": "/k"}}],
  "groups": [
    {"id": "services", "profile": "p", "pool": "svc", "selector": {"role": "services"}},
    {"id": "worker", "profile": "p", "selector": {"role": "worker"}}
  ],
  "pools": [{"name": "svc", "cidr": "10.0.0.0/24", "start": "10.0.0.10", "end": "10.0.0.11", "gateway": "10.0.0.1"}],
  "machines": [{"name": "node1", "mac": "52:54:00:00:00:01", "uuid": "11111111-2222-3333-4444-555555555555", "labels": {"role": "services"}}]
}`

func testSnapshot(t *testing.T, table *ipam.Table) *catalog.Snapshot {
	t.Helper()
	c, err := catalog.DecodeDocument([]byte(testDoc))
	if err != nil {
		t.Fatal(err)
	}
	snap, _, err := catalog.Compile(c, table, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// allocator is a fake store: sticky leases, lowest free address first,
// counting its calls.
type allocator struct {
	mu     sync.Mutex
	leases map[string]ipam.Lease
	calls  int
}

func (a *allocator) Allocate(ctx context.Context, pool *ipam.Pool, mac string) (ipam.Lease, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	if l, ok := a.leases[mac]; ok {
		return l, nil
	}
	taken := map[netip.Addr]bool{}
	for _, l := range a.leases {
		taken[l.Address] = true
	}
	addr, err := pool.FirstFree(func(x netip.Addr) bool { return taken[x] })
	if err != nil {
		return ipam.Lease{}, err
	}
	l := ipam.Lease{Pool: pool.Name, Address: addr, MAC: mac}
	a.leases[mac] = l
	return l, nil
}

func facts(t *testing.T, q string) Facts {
	t.Helper()
	f, err := ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestResolve(t *testing.T) {
	ctx := context.Background()
	pin := ipam.Lease{Pool: "svc", Address: netip.MustParseAddr("10.0.0.11"), MAC: "52:54:00:00:00:01", Pinned: true}
	table := ipam.NewTable([]ipam.Lease{pin})
	snap := testSnapshot(t, table)
	alloc := &allocator{leases: map[string]ipam.Lease{pin.MAC: pin}}
	r := &Resolver{Allocator: alloc, Leases: table}

	t.Run("registered machine by uuid keys its lease by its registered mac", func(t *testing.T) {
		res, err := r.Resolve(ctx, snap, facts(t, "uuid=11111111-2222-3333-4444-555555555555"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Match.Group.ID != "services" || res.LeaseState != LeasePinned || res.Lease.Address.String() != "10.0.0.11" {
			t.Errorf("got %s %s %s", res.Match.Group.ID, res.LeaseState, res.Lease.Address)
		}
		if res.Facts.MAC != "" || res.Input.Machine.MAC != "52:54:00:00:00:01" || res.Input.IP["address"] != "10.0.0.11" {
			t.Errorf("facts mac %q, .machine.mac %q, .ip %v", res.Facts.MAC, res.Input.Machine.MAC, res.Input.IP)
		}
	})
	t.Run("no pool", func(t *testing.T) {
		res, err := r.Resolve(ctx, snap, facts(t, "mac=52-54-00-00-00-09&role=worker"), Options{})
		if err != nil || res.LeaseState != LeaseNone || res.Pool != nil || res.Input.IP != nil {
			t.Fatalf("%v %s %v", err, res.LeaseState, res.Input.IP)
		}
		if res.Facts.MAC != "52:54:00:00:00:09" || res.Input.Query["mac"] != "52:54:00:00:00:09" {
			t.Errorf("mac %q, query %v", res.Facts.MAC, res.Input.Query)
		}
	})
	t.Run("no match keeps the match", func(t *testing.T) {
		res, err := r.Resolve(ctx, snap, facts(t, "mac=52:54:00:00:00:09&role=db"), Options{})
		if !errors.Is(err, catalog.ErrNoMatch) || res.Match == nil || res.Match.Facts["role"] != "db" {
			t.Fatalf("%v %+v", err, res.Match)
		}
	})
	t.Run("pooled group without mac", func(t *testing.T) {
		res, err := r.Resolve(ctx, snap, facts(t, "role=services"), Options{})
		var pe *PoolError
		if !errors.Is(err, catalog.ErrNeedMAC) || !errors.As(err, &pe) || invalid.FieldOf(err) != "mac" || res.LeaseState != LeaseNeedsMAC {
			t.Fatalf("%v (field %q) %s", err, invalid.FieldOf(err), res.LeaseState)
		}
		if err.Error() != "group services draws addresses from pool svc: the request needs a mac" {
			t.Errorf("message %q", err)
		}
	})
	t.Run("preview allocates nothing", func(t *testing.T) {
		res, err := r.Resolve(ctx, snap, facts(t, "mac=52:54:00:00:00:02&role=services"), Options{Preview: true})
		if err != nil || res.LeaseState != LeasePreview || res.Lease.Address.String() != "10.0.0.10" {
			t.Fatalf("%v %s %s", err, res.LeaseState, res.Lease.Address)
		}
		if alloc.calls != 0 || table.Count("svc") != 1 {
			t.Errorf("a preview allocated: %d calls, %d leases", alloc.calls, table.Count("svc"))
		}
	})
	t.Run("a boot creates the lease, then reads it from the table", func(t *testing.T) {
		res, err := r.Resolve(ctx, snap, facts(t, "mac=52:54:00:00:00:02&role=services"), Options{})
		if err != nil || res.LeaseState != LeaseCreated || res.Lease.Address.String() != "10.0.0.10" {
			t.Fatalf("%v %s %s", err, res.LeaseState, res.Lease.Address)
		}
		res, err = r.Resolve(ctx, snap, facts(t, "mac=52:54:00:00:00:02&role=services"), Options{})
		if err != nil || res.LeaseState != LeaseExisting || alloc.calls != 1 {
			t.Fatalf("%v %s, %d allocations", err, res.LeaseState, alloc.calls)
		}
	})
	t.Run("preview of a full pool", func(t *testing.T) {
		res, err := r.Resolve(ctx, snap, facts(t, "mac=52:54:00:00:00:03&role=services"), Options{Preview: true})
		if !errors.Is(err, ipam.ErrExhausted) || res.LeaseState != LeaseExhausted {
			t.Fatalf("%v %s", err, res.LeaseState)
		}
		if err.Error() != "pool svc is exhausted: a boot would be refused" {
			t.Errorf("message %q", err)
		}
	})
	t.Run("a boot on a full pool", func(t *testing.T) {
		res, err := r.Resolve(ctx, snap, facts(t, "mac=52:54:00:00:00:03&role=services"), Options{})
		if !errors.Is(err, ipam.ErrExhausted) || res.Match == nil {
			t.Fatalf("%v", err)
		}
	})
	t.Run("the lease step alone needs a mac", func(t *testing.T) {
		_, state, err := r.Lease(ctx, snap.Catalog.Pools["svc"], "", Options{})
		if !errors.Is(err, catalog.ErrNeedMAC) || state != LeaseNeedsMAC || err.Error() != "pool svc: a lease needs a mac" {
			t.Fatalf("%v %s", err, state)
		}
	})
	t.Run("no snapshot", func(t *testing.T) {
		if _, err := r.Resolve(ctx, nil, facts(t, "mac=52:54:00:00:00:03"), Options{}); !errors.Is(err, ErrNotReady) {
			t.Fatalf("%v", err)
		}
	})
}

func TestParseQuery(t *testing.T) {
	f, err := ParseQuery("MAC=52-54-00-89-D8-10&Role=web&token=abc")
	if err != nil {
		t.Fatal(err)
	}
	if f.MAC != groups.MAC("52:54:00:89:d8:10") || f.Labels["role"] != "web" || f.Token != "abc" || f.RawQuery == "" {
		t.Errorf("%+v", f)
	}
	for _, q := range []string{"mac=nope", "uuid=x"} {
		if _, err := ParseQuery(q); !errors.Is(err, groups.ErrBadMAC) && !errors.Is(err, groups.ErrBadUUID) {
			t.Errorf("%s: %v", q, err)
		}
	}
}

func TestLeaseStateString(t *testing.T) {
	want := map[LeaseState]string{LeaseNone: "none", LeaseExisting: "existing", LeasePinned: "pinned", LeaseCreated: "created",
		LeasePreview: "preview", LeaseExhausted: "exhausted", LeaseNeedsMAC: "needs-mac", 99: "LeaseState(99)"}
	for s, w := range want {
		if s.String() != w {
			t.Errorf("%d: %q, want %q", s, s.String(), w)
		}
	}
}
