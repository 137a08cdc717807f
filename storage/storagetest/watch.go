package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/storage"
)

// testWatch checks a storage.Watcher: a Reset first, then every lease
// written or deleted and every catalog replacement, in order, until the
// context ends. Backends without a watch (one process owns the data) skip
// it.
func testWatch(t *testing.T, h *harness) {
	w, ok := h.s.(storage.Watcher)
	if !ok {
		t.Skip("the backend is not a storage.Watcher")
	}
	ctx, cancel := context.WithCancel(t.Context())
	changes := make(chan storage.Change, 100)
	done := make(chan error, 1)
	go func() { done <- w.Watch(ctx, func(c storage.Change) { changes <- c }) }()
	next := func(what string) storage.Change {
		t.Helper()
		select {
		case c := <-changes:
			return c
		case <-time.After(5 * time.Second):
			t.Fatalf("no change reported within 5s; want %s", what)
		}
		return storage.Change{}
	}
	if c := next("a Reset"); !c.Reset {
		t.Fatalf("first change %+v, want a Reset", c)
	}
	wantLease := func(l ipam.Lease, deleted bool) {
		t.Helper()
		c := next("a lease change")
		if c.Lease == nil || *c.Lease != l || c.Deleted != deleted {
			t.Fatalf("change %+v (lease %+v), want lease %+v deleted=%v", c, c.Lease, l, deleted)
		}
	}
	a := h.allocate(lan(t), mac(1))
	wantLease(a, false)
	if _, err := h.s.Release(t.Context(), "lan", a.Address); err != nil {
		t.Fatal(err)
	}
	wantLease(a, true)
	h.replace(smallCatalog(t))
	if c := next("the catalog change"); !c.Catalog {
		t.Fatalf("change %+v after ReplaceCatalog, want Catalog", c)
	}
	// A replacement with a pin reports the catalog and the lease, in
	// either order.
	h.replace(smallCatalog(t), pin(lan(t), mac(2), "10.1.0.9"))
	var sawCatalog, sawLease bool
	for !sawCatalog || !sawLease {
		c := next("the catalog and the pinned lease")
		switch {
		case c.Catalog:
			sawCatalog = true
		case c.Lease != nil && c.Lease.MAC == mac(2) && c.Lease.Address == addr("10.1.0.9") && c.Lease.Pinned && !c.Deleted:
			sawLease = true
		default:
			t.Fatalf("unexpected change %+v (lease %+v)", c, c.Lease)
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return after its context ended")
	}
}
