package storagetest

import (
	"errors"
	"net/netip"
	"sync"
	"testing"

	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/storage"
)

// allocateAll allocates for n macs at once, one goroutine each, and
// returns the addresses by mac.
func allocateAll(t *testing.T, h *harness, p *ipam.Pool, n int) map[string]netip.Addr {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		got  = map[string]netip.Addr{}
		errs []error
	)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			l, err := h.s.Allocate(t.Context(), p, mac(i))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			if l.MAC != mac(i) || l.Pool != p.Name {
				errs = append(errs, errors.New("lease for the wrong machine or pool"))
			}
			got[mac(i)] = l.Address
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent Allocate: %v", err)
	}
	return got
}

func testConcurrentAllocate(t *testing.T, h *harness) {
	const n = 200
	p := lan(t) // 251 assignable addresses
	first := allocateAll(t, h, p, n)
	owner := map[netip.Addr]string{}
	for m, a := range first {
		if other, dup := owner[a]; dup {
			t.Errorf("%s given to %s and %s", a, other, m)
		}
		owner[a] = m
		if !p.Assignable(a) {
			t.Errorf("%s got %s: outside the range or reserved", m, a)
		}
	}
	if len(owner) != n {
		t.Fatalf("%d distinct addresses for %d machines", len(owner), n)
	}
	// With every request in flight at once, the pool still fills from the
	// bottom: the n lowest assignable addresses are taken.
	a := p.First()
	if p.IsReserved(a) {
		a = p.Next(a)
	}
	for i := 0; i < n; a, i = p.Next(a), i+1 {
		if _, ok := owner[a]; !ok {
			t.Errorf("%s is free while higher addresses are leased", a)
		}
	}
	again := allocateAll(t, h, p, n)
	for m, a := range first {
		if again[m] != a {
			t.Errorf("second round: %s got %s, first %s", m, again[m], a)
		}
	}
	ls := h.leases()
	if len(ls) != n {
		t.Errorf("%d leases after two rounds for %d machines", len(ls), n)
	}
	checkNoDoubles(t, ls)
	for _, l := range ls {
		if first[l.MAC] != l.Address {
			t.Errorf("listed lease %s %s, Allocate answered %s", l.MAC, l.Address, first[l.MAC])
		}
	}
}

// testClosedUnavailable checks that a closed store says so with
// storage.ErrUnavailable, which the server answers with 503, rather than
// with an error that reads as its own fault.
func testClosedUnavailable(t *testing.T, h *harness) {
	h.allocate(lan(t), mac(1))
	s := h.s
	h.close()
	ctx := t.Context()
	calls := map[string]func() error{
		"LoadCatalog":         func() error { _, err := s.LoadCatalog(ctx); return err },
		"ReplaceCatalog":      func() error { return s.ReplaceCatalog(ctx, smallCatalog(t), nil) },
		"LoadCatalogRevision": func() error { _, _, err := s.LoadCatalogRevision(ctx); return err },
		"ReplaceCatalogAt":    func() error { _, err := s.ReplaceCatalogAt(ctx, 0, smallCatalog(t), nil); return err },
		"Leases":              func() error { _, err := s.Leases(ctx); return err },
		"Allocate":            func() error { _, err := s.Allocate(ctx, lan(t), mac(2)); return err },
		"Release":             func() error { _, err := s.Release(ctx, "lan", addr("10.1.0.3")); return err },
		"SaveMachines":        func() error { return s.SaveMachines(ctx, inventoryRecords()) },
		"Machines":            func() error { _, err := s.Machines(ctx); return err },
		"WalkMachines": func() error {
			return s.WalkMachines(ctx, func(inventory.Machine) error { return errors.New("a closed store walked a record") })
		},
	}
	for _, name := range sortedKeys(calls) {
		if err := calls[name](); !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("%s on a closed store: %v, want storage.ErrUnavailable", name, err)
		}
	}
}
