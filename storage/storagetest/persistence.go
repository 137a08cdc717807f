package storagetest

import (
	"testing"
)

// testPersistence writes through every method, reopens, and reads it all
// back; then checks the reopened store goes on from where the old one
// stopped.
func testPersistence(t *testing.T, h *harness) {
	if h.reopen == nil {
		t.Skip("no Reopener given: persistence is not checked for this backend")
	}
	c := fullCatalog(t)
	h.replace(c, pin(c.Pools["lan"], mac(1), "10.1.0.10"), ensure(c.Pools["v6"], mac(1)))
	for i := 2; i <= 6; i++ {
		h.allocate(c.Pools["lan"], mac(i)) // .3 .5 .6 .7 .8
	}
	if _, err := h.s.Release(t.Context(), "lan", addr("10.1.0.5")); err != nil {
		t.Fatal(err)
	}
	recs := inventoryRecords()
	if err := h.s.SaveMachines(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	leases := h.leases()

	h.restart()
	checkCatalog(t, h.loadCatalog(), c)
	checkLeases(t, "leases after reopening", h.leases(), leases)
	checkMachines(t, h.machines(), recs)
	for _, l := range leases {
		if got := h.allocate(c.Pools[l.Pool], l.MAC); got != l {
			t.Errorf("Allocate after reopening = %+v, want %+v", got, l)
		}
	}
	// The released address is still free, and the lowest.
	h.allocateWant(c.Pools["lan"], mac(7), "10.1.0.5")
	h.allocateWant(c.Pools["lan"], mac(8), "10.1.0.9")

	// A second restart keeps what the reopened store wrote.
	leases = h.leases()
	h.restart()
	checkLeases(t, "leases after reopening twice", h.leases(), leases)
	checkCatalog(t, h.loadCatalog(), c)
}
