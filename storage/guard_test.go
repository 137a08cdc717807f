package storage_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/bolt"
)

func TestCheckReleases(t *testing.T) {
	old := newCatalog(t,
		"w1 "+macW1+" role=worker",
		"w2 "+macW2+" role=worker",
		"w3 "+macW3+" role=worker @lan=10.0.0.15",
		"w4 "+macW4+" role=worker", // registered, never leased
	)
	held := []ipam.Lease{
		{Pool: "lan", Address: netip.MustParseAddr("10.0.0.10"), MAC: macW1},
		{Pool: "lan", Address: netip.MustParseAddr("10.0.0.11"), MAC: macW2},
		{Pool: "lan", Address: netip.MustParseAddr("10.0.0.15"), MAC: macW3, Pinned: true},
		{Pool: "lan", Address: netip.MustParseAddr("10.0.0.13"), MAC: "52:54:00:00:00:99"}, // unregistered
	}
	empty := catalog.New()
	tests := []struct {
		name string
		next *catalog.Catalog
		want []string // in the refusal; nil: accepted
	}{
		{"unchanged", old, nil},
		{"machine added", newCatalog(t, "w1 "+macW1+" role=worker", "w2 "+macW2+" role=worker",
			"w3 "+macW3+" role=worker @lan=10.0.0.15", "w4 "+macW4+" role=worker", "w5 52:54:00:00:00:05 role=worker"), nil},
		{"machine without a lease removed", newCatalog(t, "w1 "+macW1+" role=worker", "w2 "+macW2+" role=worker",
			"w3 "+macW3+" role=worker @lan=10.0.0.15"), nil},
		{"pinned machine removed", newCatalog(t, "w1 "+macW1+" role=worker", "w2 "+macW2+" role=worker", "w4 "+macW4+" role=worker"),
			[]string{"1 leases", "w3 lan/10.0.0.15 (" + macW3 + " pinned)", "--allow-release", "allow_release=true"}},
		{"registered machines removed", newCatalog(t),
			[]string{"3 leases", "w1 lan/10.0.0.10 (" + macW1 + ")", "w2 lan/10.0.0.11", "w3 lan/10.0.0.15"}},
		{"every group dropped", empty,
			[]string{"no groups (the stored one has 2)", "3 leases", "w1 lan/10.0.0.10", "--allow-release"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := storage.PlanLeases(old, compile(t, tt.next))
			err := storage.CheckReleases(old, tt.next, plan, held, false)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, storage.ErrWouldRelease) || !errors.Is(err, storage.ErrConflict) {
				t.Errorf("%v: want ErrWouldRelease and ErrConflict", err)
			}
			var re *storage.ReleaseError
			if !errors.As(err, &re) {
				t.Fatalf("%T is not a *ReleaseError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("refusal %q\nlacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "52:54:00:00:00:99") {
				t.Errorf("refusal names an unregistered machine's lease: %v", err)
			}
			if err := storage.CheckReleases(old, tt.next, plan, held, true); err != nil {
				t.Errorf("allowed, still refused: %v", err)
			}
		})
	}
	// Nothing stored yet: nothing to release.
	if err := storage.CheckReleases(nil, empty, nil, nil, false); err != nil {
		t.Errorf("first load refused: %v", err)
	}
}

// Guarded on a real bbolt store, as serve wires it: a marked change that
// would release is refused and leaves store and leases as they were;
// with consent it goes through.
func TestGuardedStore(t *testing.T) {
	s, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cs := &storage.Catalogs{Store: s, Leases: ipam.NewTable(nil)}
	base := []string{"w1 " + macW1 + " role=worker", "w2 " + macW2 + " role=worker", "w3 " + macW3 + " role=worker @lan=10.0.0.15"}
	guard := storage.GuardReleases(t.Context(), false)
	if _, _, err := cs.Replace(guard, newCatalog(t, base...)); err != nil {
		t.Fatal(err)
	}
	leases, _ := s.Leases(t.Context())
	if len(leases) != 3 {
		t.Fatalf("%d leases after the first load, want 3", len(leases))
	}
	without := newCatalog(t, base[:2]...)
	_, _, err = cs.Replace(guard, without)
	if !errors.Is(err, storage.ErrWouldRelease) || !strings.Contains(err.Error(), "w3 lan/10.0.0.15 ("+macW3+" pinned)") {
		t.Fatalf("removing w3: %v", err)
	}
	if _, _, err := cs.Replace(guard, catalog.New()); err == nil || !strings.Contains(err.Error(), "no groups") {
		t.Fatalf("emptied catalog: %v", err)
	}
	if got, _ := s.Leases(t.Context()); len(got) != 3 {
		t.Errorf("refused changes left %d leases, want 3", len(got))
	}
	if stored, _ := s.LoadCatalog(t.Context()); len(stored.Machines) != 3 || len(stored.Groups) != 2 {
		t.Errorf("refused changes changed the stored catalog: %d machines, %d groups", len(stored.Machines), len(stored.Groups))
	}
	if _, ok := cs.Leases.Lookup("lan", macW3); !ok {
		t.Error("the lease table lost w3's lease")
	}
	if _, _, err := cs.Replace(storage.GuardReleases(t.Context(), true), without); err != nil {
		t.Fatalf("with consent: %v", err)
	}
	if got, _ := s.Leases(t.Context()); len(got) != 2 {
		t.Errorf("%d leases after the consented release, want 2", len(got))
	}
}
