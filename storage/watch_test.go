package storage_test

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
	"github.com/provisiond/provisiond/storage"
)

// watchFunc is a storage.Watcher fed by the test.
type watchFunc func(ctx context.Context, fn func(storage.Change)) error

func (f watchFunc) Watch(ctx context.Context, fn func(storage.Change)) error { return f(ctx, fn) }

func TestApplyLease(t *testing.T) {
	a := ipam.Lease{Pool: "lan", Address: netip.MustParseAddr("10.0.0.5"), MAC: "02:00:00:00:00:01"}
	moved := a
	moved.Address = netip.MustParseAddr("10.0.0.6")
	tests := []struct {
		name    string
		changes []storage.Change
		want    *ipam.Lease
	}{
		{"put", []storage.Change{{Lease: &a}}, &a},
		{"put then delete", []storage.Change{{Lease: &a}, {Lease: &a, Deleted: true}}, nil},
		{"move, old address deleted last", []storage.Change{{Lease: &a}, {Lease: &moved}, {Lease: &a, Deleted: true}}, &moved},
		{"move, old address deleted first", []storage.Change{{Lease: &a}, {Lease: &a, Deleted: true}, {Lease: &moved}}, &moved},
		{"delete of an unknown lease", []storage.Change{{Lease: &a, Deleted: true}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			table := ipam.NewTable(nil)
			for _, c := range tc.changes {
				storage.ApplyLease(table, *c.Lease, c.Deleted)
			}
			got, ok := table.Lookup("lan", a.MAC)
			switch {
			case tc.want == nil && ok:
				t.Errorf("table holds %+v, want nothing", got)
			case tc.want != nil && (!ok || got != *tc.want):
				t.Errorf("table holds %+v (%v), want %+v", got, ok, *tc.want)
			}
		})
	}
}

// TestFollow feeds Follow a Reset, lease changes and a catalog change made
// to the store behind its back, and checks what it serves.
func TestFollow(t *testing.T) {
	e := newEnv(t)
	var (
		mu    sync.Mutex
		snaps []*catalog.Snapshot
	)
	catalogs := &storage.Catalogs{Store: e.store, Leases: e.table, Swap: func(s *catalog.Snapshot) {
		mu.Lock()
		snaps = append(snaps, s)
		mu.Unlock()
	}}
	swaps := func() int { mu.Lock(); defer mu.Unlock(); return len(snaps) }
	waitSwaps := func(n int) *catalog.Snapshot {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for swaps() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d snapshots swapped, want %d", swaps(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
		mu.Lock()
		defer mu.Unlock()
		return snaps[len(snaps)-1]
	}

	changes := make(chan storage.Change)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		catalogs.Follow(ctx, watchFunc(func(ctx context.Context, fn func(storage.Change)) error {
			for {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case c := <-changes:
					fn(c)
				}
			}
		}), nil)
		close(done)
	}()

	changes <- storage.Change{Reset: true}
	waitSwaps(1)

	l := ipam.Lease{Pool: "lan", Address: netip.MustParseAddr("10.0.0.5"), MAC: "02:00:00:00:00:01"}
	changes <- storage.Change{Lease: &l}
	changes <- storage.Change{Reset: false} // a no-op change: lets the lease apply before we look
	if got, ok := e.table.Lookup("lan", l.MAC); !ok || got != l {
		t.Fatalf("lease change not applied: %+v %v", got, ok)
	}

	// Another replica writes a catalog; a burst of changes is one reload.
	c := catalog.New()
	c.Templates[profiles.KindGeneric]["x"] = "y"
	if err := e.store.ReplaceCatalog(t.Context(), c, nil); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		changes <- storage.Change{Catalog: true}
	}
	snap := waitSwaps(2)
	if snap.Catalog.Templates[profiles.KindGeneric]["x"] != "y" {
		t.Errorf("reloaded snapshot lacks the stored change")
	}
	time.Sleep(3 * storage.FollowDelay)
	if n := swaps(); n != 2 {
		t.Errorf("%d snapshots after a burst of 5 catalog changes, want 2", n)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Follow did not return after its context ended")
	}
}
