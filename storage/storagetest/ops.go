package storagetest

import (
	"errors"
	"testing"

	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/storage"
)

func pin(p *ipam.Pool, mac, address string) storage.LeaseOp {
	return storage.LeaseOp{Kind: storage.OpPin, Pool: p, MAC: mac, Address: addr(address), Machine: "m-" + mac}
}

func ensure(p *ipam.Pool, mac string) storage.LeaseOp {
	return storage.LeaseOp{Kind: storage.OpEnsure, Pool: p, MAC: mac, Machine: "m-" + mac}
}

func release(mac string) storage.LeaseOp {
	return storage.LeaseOp{Kind: storage.OpRelease, MAC: mac, Machine: "m-" + mac}
}

// checkLease fails unless ls holds exactly want for want's (pool, mac),
// Created aside when want.Created is 0.
func checkLease(t *testing.T, ls []ipam.Lease, want ipam.Lease) {
	t.Helper()
	got, ok := leaseOf(ls, want.Pool, want.MAC)
	if !ok {
		t.Errorf("no lease for %s in %s; leases:%s", want.MAC, want.Pool, leaseList(ls))
		return
	}
	if want.Created == 0 {
		got.Created = 0
	}
	if got != want {
		t.Errorf("lease of %s in %s = %+v, want %+v", want.MAC, want.Pool, got, want)
	}
}

func testOpPin(t *testing.T, h *harness) {
	c := fullCatalog(t)
	h.replace(c, pin(c.Pools["lan"], mac(1), "10.1.0.10"), pin(c.Pools["v6"], mac(1), "fd00:1::1a"))
	ls := h.leases()
	if len(ls) != 2 {
		t.Fatalf("leases after two pins:%s", leaseList(ls))
	}
	checkLease(t, ls, ipam.Lease{Pool: "lan", Address: addr("10.1.0.10"), MAC: mac(1), Pinned: true})
	checkLease(t, ls, ipam.Lease{Pool: "v6", Address: addr("fd00:1::1a"), MAC: mac(1), Pinned: true})
	for _, l := range ls {
		if l.Created == 0 {
			t.Errorf("pinned lease %s has no creation time", l.Address)
		}
	}
	// Allocate answers the pinned lease.
	if l := h.allocate(lan(t), mac(1)); l != ls[0] {
		t.Errorf("Allocate for a pinned mac = %+v, want %+v", l, ls[0])
	}
}

// Every Apply repeats every pin, and a pin may land on the automatic
// lease its own machine holds.
func testOpPinIdempotent(t *testing.T, h *harness) {
	c := fullCatalog(t)
	auto := h.allocateWant(lan(t), mac(1), "10.1.0.3")
	h.replace(c, pin(c.Pools["lan"], mac(1), "10.1.0.3"))
	ls := h.leases()
	want := auto
	want.Pinned = true
	checkLeases(t, "leases after pinning an address onto its holder", ls, []ipam.Lease{want})
	h.replace(c, pin(c.Pools["lan"], mac(1), "10.1.0.3"))
	checkLeases(t, "leases after repeating a pin", h.leases(), ls)
}

func testOpPinConflict(t *testing.T, h *harness) {
	old := smallCatalog(t)
	h.replace(old, pin(lan(t), mac(2), "10.1.0.50"))
	h.allocateWant(lan(t), mac(1), "10.1.0.3")
	h.allocateWant(tiny(t), mac(4), "10.2.0.2")
	before := h.leases()
	for _, tc := range []struct {
		name string
		op   storage.LeaseOp
	}{
		{"automatic lease", pin(lan(t), mac(3), "10.1.0.3")},
		{"pinned lease", pin(lan(t), mac(3), "10.1.0.50")},
		{"machine that also moves", pin(lan(t), mac(1), "10.1.0.50")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Successful operations before and after the failing one must
			// not land either.
			ops := []storage.LeaseOp{
				release(mac(4)),
				pin(lan(t), mac(5), "10.1.0.60"),
				ensure(lan(t), mac(6)),
				tc.op,
				ensure(v6(t), mac(7)),
			}
			err := h.s.ReplaceCatalog(t.Context(), fullCatalog(t), ops)
			if !errors.Is(err, storage.ErrConflict) {
				t.Fatalf("ReplaceCatalog with a conflicting pin: %v, want storage.ErrConflict", err)
			}
			checkCatalog(t, h.loadCatalog(), old)
			checkLeases(t, "leases after a refused replacement", h.leases(), before)
		})
	}
}

func testOpPinMoves(t *testing.T, h *harness) {
	h.allocateWant(lan(t), mac(1), "10.1.0.3")
	h.allocateWant(tiny(t), mac(1), "10.2.0.2")
	h.replace(fullCatalog(t), pin(lan(t), mac(1), "10.1.0.70"))
	ls := h.leases()
	if len(ls) != 2 {
		t.Fatalf("want the moved lease and the tiny one, got:%s", leaseList(ls))
	}
	checkLease(t, ls, ipam.Lease{Pool: "lan", Address: addr("10.1.0.70"), MAC: mac(1), Pinned: true})
	checkLease(t, ls, ipam.Lease{Pool: "tiny", Address: addr("10.2.0.2"), MAC: mac(1)})
	// The old address is free, and the machine's index follows the move.
	h.allocateWant(lan(t), mac(2), "10.1.0.3")
	h.allocateWant(lan(t), mac(1), "10.1.0.70")
	checkNoDoubles(t, h.leases())
}

func testOpEnsure(t *testing.T, h *harness) {
	h.allocateWant(lan(t), mac(1), "10.1.0.3")
	b := h.allocateWant(lan(t), mac(2), "10.1.0.5")
	if _, err := h.s.Release(t.Context(), "lan", addr("10.1.0.3")); err != nil {
		t.Fatal(err)
	}
	c := fullCatalog(t)
	h.replace(c,
		pin(c.Pools["lan"], mac(9), "10.1.0.90"),
		ensure(c.Pools["lan"], mac(2)), // has .5; keeps it although .3 is lower
		ensure(c.Pools["lan"], mac(3)), // new: the lowest free, .3
		ensure(c.Pools["lan"], mac(3)), // twice in one list: still one lease
		ensure(c.Pools["lan"], mac(9)), // pinned: keeps the pin
		ensure(c.Pools["v6"], mac(2)),  // another pool: a lease there too
	)
	ls := h.leases()
	checkLeases(t, "leases after ensures", ls, []ipam.Lease{
		b,
		mustLease(t, ls, "lan", mac(3), "10.1.0.3", false),
		mustLease(t, ls, "lan", mac(9), "10.1.0.90", true),
		mustLease(t, ls, "v6", mac(2), "fd00:1::11", false),
	})
	// A second replacement ensuring the same keeps everything as is.
	h.replace(c, ensure(c.Pools["lan"], mac(2)), ensure(c.Pools["lan"], mac(3)), ensure(c.Pools["v6"], mac(2)))
	checkLeases(t, "leases after repeated ensures", h.leases(), ls)
}

// mustLease returns the lease of mac in pool from ls after checking its
// address and pin.
func mustLease(t *testing.T, ls []ipam.Lease, pool, mac, address string, pinned bool) ipam.Lease {
	t.Helper()
	checkLease(t, ls, ipam.Lease{Pool: pool, MAC: mac, Address: addr(address), Pinned: pinned})
	l, _ := leaseOf(ls, pool, mac)
	return l
}

func testOpRelease(t *testing.T, h *harness) {
	h.allocateWant(lan(t), mac(1), "10.1.0.3")
	h.allocateWant(v6(t), mac(1), "fd00:1::11")
	b := h.allocateWant(lan(t), mac(2), "10.1.0.5")
	c := fullCatalog(t)
	h.replace(c, pin(tiny(t), mac(1), "10.2.0.4"))
	h.replace(c, release(mac(1)), release(mac(8))) // mac(8) holds nothing: not an error
	checkLeases(t, "leases after releasing a machine", h.leases(), []ipam.Lease{b})
	// Both directions are gone in every pool.
	h.allocateWant(lan(t), mac(3), "10.1.0.3")
	h.allocateWant(lan(t), mac(1), "10.1.0.6")
	h.allocateWant(v6(t), mac(3), "fd00:1::11")
	h.allocateWant(tiny(t), mac(3), "10.2.0.2")
	h.allocateWant(tiny(t), mac(4), "10.2.0.4")
	checkNoDoubles(t, h.leases())
}

func testOpEnsureExhausted(t *testing.T, h *harness) {
	old := smallCatalog(t)
	h.replace(old)
	h.allocateWant(tiny(t), mac(1), "10.2.0.2")
	h.allocateWant(tiny(t), mac(2), "10.2.0.4")
	h.allocateWant(lan(t), mac(3), "10.1.0.3")
	before := h.leases()
	err := h.s.ReplaceCatalog(t.Context(), fullCatalog(t), []storage.LeaseOp{
		pin(lan(t), mac(4), "10.1.0.80"),
		release(mac(3)),
		ensure(lan(t), mac(5)),
		ensure(tiny(t), mac(1)), // has one: fine
		ensure(tiny(t), mac(6)), // none left
	})
	if !errors.Is(err, ipam.ErrExhausted) {
		t.Fatalf("ReplaceCatalog with an ensure in a full pool: %v, want ipam.ErrExhausted", err)
	}
	checkCatalog(t, h.loadCatalog(), old)
	checkLeases(t, "leases after a refused replacement", h.leases(), before)
}

// Pins are applied as a set: two machines may swap their pinned addresses,
// and a machine may take an address another one leaves, in one catalog.
func testOpPinSwap(t *testing.T, h *harness) {
	c := fullCatalog(t)
	h.replace(c, pin(c.Pools["lan"], mac(1), "10.1.0.10"), pin(c.Pools["lan"], mac(2), "10.1.0.11"))
	h.replace(c, pin(c.Pools["lan"], mac(1), "10.1.0.11"), pin(c.Pools["lan"], mac(2), "10.1.0.10"))
	ls := h.leases()
	if len(ls) != 2 {
		t.Fatalf("leases after swapping pins:%s", leaseList(ls))
	}
	checkLease(t, ls, ipam.Lease{Pool: "lan", Address: addr("10.1.0.10"), MAC: mac(2), Pinned: true})
	checkLease(t, ls, ipam.Lease{Pool: "lan", Address: addr("10.1.0.11"), MAC: mac(1), Pinned: true})
	// mac(3) takes 10.1.0.10, which mac(2) leaves for 10.1.0.12.
	h.replace(c, pin(c.Pools["lan"], mac(3), "10.1.0.10"), pin(c.Pools["lan"], mac(2), "10.1.0.12"))
	ls = h.leases()
	checkLease(t, ls, ipam.Lease{Pool: "lan", Address: addr("10.1.0.10"), MAC: mac(3), Pinned: true})
	checkLease(t, ls, ipam.Lease{Pool: "lan", Address: addr("10.1.0.12"), MAC: mac(2), Pinned: true})
}
