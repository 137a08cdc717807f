package storagetest

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/storage"
)

func testAllocateLowest(t *testing.T, h *harness) {
	p := lan(t)
	// .1 is the gateway (and First), .2 and .4 are reserved.
	for i, want := range []string{"10.1.0.3", "10.1.0.5", "10.1.0.6", "10.1.0.7"} {
		l := h.allocateWant(p, mac(i), want)
		if l.Pinned {
			t.Errorf("automatic lease %s is pinned", l.Address)
		}
		if l.Created == 0 {
			t.Errorf("lease %s has no creation time", l.Address)
		}
	}
}

func testAllocateSticky(t *testing.T, h *harness) {
	p := lan(t)
	first := h.allocate(p, mac(1))
	h.allocate(p, mac(2))
	for range 3 {
		if again := h.allocate(p, mac(1)); again != first {
			t.Fatalf("second Allocate for the same mac = %+v, want %+v", again, first)
		}
	}
	if n := len(h.leases()); n != 2 {
		t.Errorf("%d leases after allocating twice for the same mac, want 2", n)
	}
}

func testAllocateDistinct(t *testing.T, h *harness) {
	p := lan(t)
	seen := map[netip.Addr]string{}
	for i := range 20 {
		l := h.allocate(p, mac(i))
		if other, dup := seen[l.Address]; dup {
			t.Fatalf("%s given to %s and %s", l.Address, other, l.MAC)
		}
		seen[l.Address] = l.MAC
	}
	checkNoDoubles(t, h.leases())
}

func testAllocateExhausted(t *testing.T, h *harness) {
	p := tiny(t)
	h.allocateWant(p, mac(1), "10.2.0.2")
	h.allocateWant(p, mac(2), "10.2.0.4")
	before := h.leases()
	_, err := h.s.Allocate(t.Context(), p, mac(3))
	if !errors.Is(err, ipam.ErrExhausted) {
		t.Fatalf("Allocate in a full pool: %v, want an error wrapping ipam.ErrExhausted", err)
	}
	checkLeases(t, "leases after a failed Allocate", h.leases(), before)
	// Machines that hold a lease still get it.
	h.allocateWant(p, mac(2), "10.2.0.4")
}

func testAllocateIPv6(t *testing.T, h *harness) {
	p := v6(t)
	h.allocateWant(p, mac(1), "fd00:1::11")
	h.allocateWant(p, mac(2), "fd00:1::12")
	h.allocateWant(p, mac(1), "fd00:1::11")
	for i := 3; i <= 15; i++ { // ::13 .. ::1f
		h.allocate(p, mac(i))
	}
	if _, err := h.s.Allocate(t.Context(), p, mac(99)); !errors.Is(err, ipam.ErrExhausted) {
		t.Fatalf("Allocate in a full IPv6 pool: %v, want ipam.ErrExhausted", err)
	}
	ls := h.leases()
	if len(ls) != 15 {
		t.Fatalf("%d leases, want 15", len(ls))
	}
	for _, l := range ls {
		if !p.Assignable(l.Address) {
			t.Errorf("lease %s is not assignable in %s", l.Address, p.Name)
		}
	}
	checkNoDoubles(t, ls)
}

// One mac may hold one lease in each pool; pools do not share addresses
// or macs.
func testAllocatePoolsIndependent(t *testing.T, h *harness) {
	h.allocateWant(lan(t), mac(1), "10.1.0.3")
	h.allocateWant(tiny(t), mac(1), "10.2.0.2")
	h.allocateWant(v6(t), mac(1), "fd00:1::11")
	h.allocateWant(tiny(t), mac(2), "10.2.0.4")
	h.allocateWant(lan(t), mac(2), "10.1.0.5")
	if n := len(h.leases()); n != 5 {
		t.Errorf("%d leases, want 5", n)
	}
}

func testReleaseFrees(t *testing.T, h *harness) {
	p := lan(t)
	a := h.allocateWant(p, mac(1), "10.1.0.3")
	h.allocateWant(p, mac(2), "10.1.0.5")
	got, err := h.s.Release(t.Context(), p.Name, a.Address)
	if err != nil {
		t.Fatalf("Release: %v", err)
	}
	if got != a {
		t.Errorf("Release returned %+v, want the released lease %+v", got, a)
	}
	if _, ok := leaseOf(h.leases(), p.Name, mac(1)); ok {
		t.Fatalf("lease of %s still listed after Release", mac(1))
	}
	// The address is the lowest free one again, so a new machine gets it.
	h.allocateWant(p, mac(3), "10.1.0.3")
	// Both directions were deleted: the released machine does not get its
	// old address (now another's) back, but a fresh one.
	h.allocateWant(p, mac(1), "10.1.0.6")
	checkNoDoubles(t, h.leases())
}

func testReleaseNotFound(t *testing.T, h *harness) {
	p := lan(t)
	h.allocateWant(p, mac(1), "10.1.0.3")
	before := h.leases()
	for _, tc := range []struct {
		name string
		pool string
		addr string
	}{
		{"free address", "lan", "10.1.0.5"},
		{"address outside the pool", "lan", "192.168.0.1"},
		{"unknown pool", "nosuch", "10.1.0.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.s.Release(t.Context(), tc.pool, addr(tc.addr))
			if !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("Release(%s, %s): %v, want storage.ErrNotFound", tc.pool, tc.addr, err)
			}
		})
	}
	checkLeases(t, "leases after failed Releases", h.leases(), before)
	// Releasing twice: the second is not found.
	if _, err := h.s.Release(t.Context(), "lan", addr("10.1.0.3")); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if _, err := h.s.Release(t.Context(), "lan", addr("10.1.0.3")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("second Release: %v, want storage.ErrNotFound", err)
	}
}

func testLeasesAll(t *testing.T, h *harness) {
	if ls := h.leases(); len(ls) != 0 {
		t.Fatalf("fresh store has leases: %s", leaseList(ls))
	}
	var want []ipam.Lease
	for i := range 5 {
		want = append(want, h.allocate(lan(t), mac(i)))
	}
	want = append(want, h.allocate(tiny(t), mac(1)), h.allocate(v6(t), mac(7)))
	c := fullCatalog(t)
	h.replace(c, storage.LeaseOp{Kind: storage.OpPin, Pool: c.Pools["lan"], MAC: mac(100), Address: addr("10.1.0.100"), Machine: "m100"})
	ls := h.leases()
	pin, ok := leaseOf(ls, "lan", mac(100))
	if !ok {
		t.Fatalf("pinned lease not listed:%s", leaseList(ls))
	}
	want = append(want, pin)
	checkLeases(t, "Leases", ls, want)
}
