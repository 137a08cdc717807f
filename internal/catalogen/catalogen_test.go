package catalogen

import (
	"os"
	"path/filepath"
	"strings"
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

// TestMatchboxShapeLoads does the same for the matchbox shape: each
// machine selects its own group, whose metadata carries its own address.
func TestMatchboxShapeLoads(t *testing.T) {
	c, err := NewMatchbox(1500)
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
	if len(loaded.Groups) != 1500 || len(loaded.Profiles) != 2 || len(loaded.Pools) != 0 {
		t.Fatalf("loaded %d groups, %d profiles, %d pools; want 1500, 2, 0", len(loaded.Groups), len(loaded.Profiles), len(loaded.Pools))
	}
	snap, _, err := catalog.Compile(loaded, nil, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, i := range []int{0, 1, 2, 999, 1000, 1499} {
		m, err := snap.Resolve(groups.Labels{"mac": MAC(i)})
		if err != nil {
			t.Fatalf("machine %d: %v", i, err)
		}
		want := map[Kind]string{Butane: "butane", Ignition: "ignition"}[Matchbox.Kind(i)]
		ip, _ := m.Group.Metadata.Map()["ip_address"].(string)
		if m.Group.ID != GroupID(i) || m.Group.Profile != want || ip != StaticIP(i) || seen[ip] {
			t.Errorf("machine %d: group %s profile %s ip %q, want %s %s %s (unique)", i, m.Group.ID, m.Group.Profile, ip, GroupID(i), want, StaticIP(i))
		}
		seen[ip] = true
	}
	if _, err := ParseShape("nope"); err == nil {
		t.Error("ParseShape accepted an unknown shape")
	}
}

// TestWriteReportsAFailedGroup: the parallel group writer returns the
// failure of any one file (here a directory in the way), naming it.
func TestWriteReportsAFailedGroup(t *testing.T) {
	c, err := NewMatchbox(500)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "groups", GroupID(321)+".json"), 0o755); err != nil {
		t.Fatal(err)
	}
	err = Write(dir, c)
	if err == nil || !strings.Contains(err.Error(), GroupID(321)+".json") {
		t.Fatalf("Write over a directory in the way: %v", err)
	}
}
