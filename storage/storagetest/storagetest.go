// Package storagetest is the conformance suite of the storage.Store
// contract. Every backend runs it from its own tests, over real storage:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store {
//			s, err := bolt.Open(t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		}, func(t *testing.T, old storage.Store) storage.Store {
//			dir := filepath.Dir(old.(*bolt.Store).Path())
//			if err := old.Close(); err != nil {
//				t.Fatal(err)
//			}
//			s, err := bolt.Open(dir)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// The package is imported by tests only; nothing in it runs in provisiond.
package storagetest

import (
	"testing"

	"github.com/provisiond/provisiond/storage"
)

// Opener returns a new, empty store of the backend under test, private to
// the (sub)test t: no other call to Opener may see its data. Run closes the
// store when t ends, unless it handed it to a Reopener.
type Opener func(t *testing.T) storage.Store

// Reopener closes old and returns a new store over the same data, as a
// restarted provisiond would open it (for bbolt: the same file; for etcd: a
// new client on the same prefix). It takes ownership of old; Run closes
// the returned store when t ends.
type Reopener func(t *testing.T, old storage.Store) storage.Store

// Run runs the conformance suite against the backend that open creates,
// one subtest per part of the contract, each on a store of its own:
//   - Catalog: empty when fresh; every object kind round-trips, templates
//     byte for byte; a replacement removes what it no longer holds.
//   - Allocate: lowest free assignable address, sticky per mac, distinct
//     across macs, ipam.ErrExhausted with nothing written, IPv6.
//   - Release: frees both directions; storage.ErrNotFound when absent.
//   - Ops: ReplaceCatalog's pins, ensures and releases, and its atomicity:
//     a conflicting pin (storage.ErrConflict) or an exhausted ensure
//     (ipam.ErrExhausted) leaves catalog and leases exactly as they were.
//   - Revision: LoadCatalogRevision and ReplaceCatalogAt, the
//     compare-and-swap every catalog write goes through: a write at a
//     revision that is no longer stored writes nothing (storage.ErrStale),
//     and of writers racing from one revision exactly one succeeds.
//   - Leases, Machines: listing and inventory round trip and overwrite;
//     WalkMachines walks what Machines returns, in order, stops at its
//     function's error and returns it as it is.
//   - Concurrency: 200 simultaneous allocations (run with -race).
//   - Closed: every method of a closed store returns storage.ErrUnavailable.
//   - Persistence: catalog, leases and inventory survive reopen.
//   - Watch: for a storage.Watcher, a Reset first, then every lease and
//     catalog change (skipped for backends that are not one).
//
// reopen may be nil for a backend with no persistence to check (an
// in-memory fake); the persistence subtest is then skipped, visibly.
func Run(t *testing.T, open Opener, reopen Reopener) {
	tests := []struct {
		name string
		fn   func(*testing.T, *harness)
	}{
		{"Catalog/EmptyWhenFresh", testCatalogEmpty},
		{"Catalog/RoundTrip", testCatalogRoundTrip},
		{"Catalog/ReplaceRemoves", testCatalogReplaceRemoves},
		{"Allocate/Lowest", testAllocateLowest},
		{"Allocate/Sticky", testAllocateSticky},
		{"Allocate/Distinct", testAllocateDistinct},
		{"Allocate/Exhausted", testAllocateExhausted},
		{"Allocate/IPv6", testAllocateIPv6},
		{"Allocate/PoolsIndependent", testAllocatePoolsIndependent},
		{"Release/Frees", testReleaseFrees},
		{"Release/NotFound", testReleaseNotFound},
		{"Ops/Pin", testOpPin},
		{"Ops/PinIdempotent", testOpPinIdempotent},
		{"Ops/PinConflict", testOpPinConflict},
		{"Ops/PinMoves", testOpPinMoves},
		{"Ops/PinSwap", testOpPinSwap},
		{"Ops/Ensure", testOpEnsure},
		{"Ops/Release", testOpRelease},
		{"Ops/EnsureExhausted", testOpEnsureExhausted},
		{"Revision/TracksWrites", testRevisionTracksWrites},
		{"Revision/Stale", testRevisionStale},
		{"Revision/Race", testRevisionRace},
		{"Leases/All", testLeasesAll},
		{"Machines/RoundTrip", testMachinesRoundTrip},
		{"Machines/Overwrite", testMachinesOverwrite},
		{"Machines/Walk", testMachinesWalk},
		{"Concurrency/Allocate", testConcurrentAllocate},
		{"Closed/Unavailable", testClosedUnavailable},
		{"Persistence/Reopen", testPersistence},
		{"Watch/Changes", testWatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newHarness(t, open, reopen))
		})
	}
}

// harness holds the store of one subtest and closes it at the end.
type harness struct {
	t      *testing.T
	s      storage.Store
	reopen Reopener
}

func newHarness(t *testing.T, open Opener, reopen Reopener) *harness {
	h := &harness{t: t, s: open(t), reopen: reopen}
	if h.s == nil {
		t.Fatal("open returned a nil store")
	}
	t.Cleanup(func() {
		if h.s != nil {
			if err := h.s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
	})
	return h
}

// restart replaces the store by a reopened one over the same data.
func (h *harness) restart() {
	h.t.Helper()
	if h.reopen == nil {
		h.t.Skip("no Reopener given: persistence is not checked for this backend")
	}
	old := h.s
	h.s = nil // owned by reopen from now on
	h.s = h.reopen(h.t, old)
	if h.s == nil {
		h.t.Fatal("reopen returned a nil store")
	}
}

// close closes the store now; the cleanup then has nothing left to close.
func (h *harness) close() {
	h.t.Helper()
	s := h.s
	h.s = nil
	if err := s.Close(); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
}
