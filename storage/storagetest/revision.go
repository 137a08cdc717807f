package storagetest

import (
	"errors"
	"sync"
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/storage"
)

func (h *harness) loadRevision() (*catalog.Catalog, storage.Revision) {
	h.t.Helper()
	c, rev, err := h.s.LoadCatalogRevision(h.t.Context())
	if err != nil {
		h.t.Fatalf("LoadCatalogRevision: %v", err)
	}
	return c, rev
}

// testRevisionTracksWrites checks that LoadCatalogRevision reads what
// LoadCatalog reads, that its revision is stable while nothing is written,
// and that ReplaceCatalogAt at the current revision writes and returns the
// revision LoadCatalogRevision then reports.
func testRevisionTracksWrites(t *testing.T, h *harness) {
	c0, rev0 := h.loadRevision()
	checkCatalog(t, c0, catalog.New())
	if _, again := h.loadRevision(); again != rev0 {
		t.Fatalf("revision of an unchanged catalog moved: %d, then %d", rev0, again)
	}
	want := fullCatalog(t)
	rev1, err := h.s.ReplaceCatalogAt(t.Context(), rev0, want, []storage.LeaseOp{pin(want.Pools["lan"], mac(1), "10.1.0.10")})
	if err != nil {
		t.Fatalf("ReplaceCatalogAt the current revision: %v", err)
	}
	if rev1 == rev0 {
		t.Errorf("ReplaceCatalogAt of another catalog returned the old revision %d", rev0)
	}
	got, now := h.loadRevision()
	checkCatalog(t, got, want)
	if now != rev1 {
		t.Errorf("LoadCatalogRevision after the write: revision %d, ReplaceCatalogAt returned %d", now, rev1)
	}
	checkLease(t, h.leases(), ipam.Lease{Pool: "lan", Address: addr("10.1.0.10"), MAC: mac(1), Pinned: true})
	// The unconditional ReplaceCatalog moves the revision too.
	h.replace(smallCatalog(t))
	if _, after := h.loadRevision(); after == rev1 {
		t.Errorf("revision %d unchanged by ReplaceCatalog of another catalog", after)
	}
}

// testRevisionStale checks the compare-and-swap: a write computed from a
// revision that is no longer the stored one writes nothing, its lease
// operations included, and says storage.ErrStale.
func testRevisionStale(t *testing.T, h *harness) {
	_, rev0 := h.loadRevision()
	first := fullCatalog(t)
	if _, err := h.s.ReplaceCatalogAt(t.Context(), rev0, first, nil); err != nil {
		t.Fatalf("ReplaceCatalogAt: %v", err)
	}
	second := smallCatalog(t)
	_, err := h.s.ReplaceCatalogAt(t.Context(), rev0, second, []storage.LeaseOp{ensure(second.Pools["tiny"], mac(2))})
	if !errors.Is(err, storage.ErrStale) {
		t.Fatalf("ReplaceCatalogAt at a revision that was replaced: %v, want storage.ErrStale", err)
	}
	got, rev1 := h.loadRevision()
	checkCatalog(t, got, first)
	if ls := h.leases(); len(ls) != 0 {
		t.Errorf("a stale write left leases:%s", leaseList(ls))
	}
	// Written by ReplaceCatalog meanwhile: stale too.
	h.replace(second)
	if _, err := h.s.ReplaceCatalogAt(t.Context(), rev1, first, nil); !errors.Is(err, storage.ErrStale) {
		t.Fatalf("ReplaceCatalogAt after a ReplaceCatalog: %v, want storage.ErrStale", err)
	}
	checkCatalog(t, h.loadCatalog(), second)
}

// testRevisionRace lets writers that all read the same revision write at
// once: exactly one succeeds, every other one gets storage.ErrStale.
func testRevisionRace(t *testing.T, h *harness) {
	h.replace(smallCatalog(t))
	_, rev := h.loadRevision()
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			c := smallCatalog(t)
			m := mustMachine(t, `{"name":"racer","mac":"`+mac(100+i)+`"}`)
			c.Machines[m.Name] = m
			_, errs[i] = h.s.ReplaceCatalogAt(t.Context(), rev, c, nil)
		})
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Errorf("writers %d and %d both succeeded at revision %d", won, i, rev)
		case err == nil:
			won = i
		case !errors.Is(err, storage.ErrStale):
			t.Errorf("writer %d: %v, want nil or storage.ErrStale", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no writer succeeded")
	}
	if got := h.loadCatalog().Machines["racer"]; got == nil || got.MAC != mac(100+won) {
		t.Errorf("stored racer = %+v, want the winner's mac %s", got, mac(100+won))
	}
}
