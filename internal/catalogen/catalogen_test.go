package catalogen

import (
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
)

// TestGeneratedCatalogLoads writes a generated catalog to disk, loads it
// back and compiles it: the generator must never produce a catalog that
// provisiond refuses, and each machine must select its own group.
func TestGeneratedCatalogLoads(t *testing.T) {
	c, err := New(2500)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Write(dir, c); err != nil {
		t.Fatal(err)
	}
	loaded, err := catalog.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	snap, _, err := catalog.Compile(loaded, nil, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 5, 9, 999, 1000, 2499} {
		m, err := snap.Resolve(groups.Labels{"mac": MAC(i)})
		if err != nil {
			t.Fatalf("machine %d: %v", i, err)
		}
		if m.Group.ID != GroupID(i) || m.Group.Pool != RackPool(i) {
			t.Errorf("machine %d: group %s pool %s, want %s %s", i, m.Group.ID, m.Group.Pool, GroupID(i), RackPool(i))
		}
	}
	m, err := snap.Resolve(groups.Labels{"mac": UnknownMAC(1)})
	if err != nil || m.Group.ID != "discovered" {
		t.Fatalf("unknown machine: %v, %v", m, err)
	}
}
