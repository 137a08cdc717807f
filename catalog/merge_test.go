package catalog

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/profiles"
)

func TestMerge3(t *testing.T) {
	base, err := LoadDir("../testdata/catalog")
	if err != nil {
		t.Fatal(err)
	}
	with := func(c *Catalog, id, name string) {
		g := *c.Groups[id]
		g.Name = name
		c.Groups[id] = &g
	}
	stored, dir := base.Clone(), base.Clone()
	// Theirs only: an update, a new group, a deletion, a template.
	with(stored, "worker", "changed in the store")
	stored.Groups["extra"] = &groups.Group{ID: "extra", Profile: "worker", Selector: groups.SelectorOf(map[string]string{"role": "extra"})}
	delete(stored.Groups, "raw-node")
	stored.Templates[profiles.KindIgnition]["worker.yaml"] = "variant: flatcar\nversion: 1.0.0\n"
	// Mine only: kept.
	with(dir, "default", "changed in the directory")
	dir.Groups["local"] = &groups.Group{ID: "local", Profile: "worker"}
	// Both, alike: nothing to do.
	with(stored, "services", "same on both")
	with(dir, "services", "same on both")

	merged, taken, conflicts := Merge3(base, stored, dir)
	if len(conflicts) != 0 {
		t.Errorf("conflicts %v", conflicts)
	}
	want := []string{"groups/extra", "groups/raw-node", "groups/worker", "ignition/worker.yaml"}
	if !slices.Equal(taken, want) {
		t.Errorf("taken %v, want %v", taken, want)
	}
	if merged.Groups["worker"].Name != "changed in the store" || merged.Groups["extra"] == nil || merged.Groups["raw-node"] != nil ||
		merged.Templates[profiles.KindIgnition]["worker.yaml"] != stored.Templates[profiles.KindIgnition]["worker.yaml"] {
		t.Errorf("theirs not taken: %+v", merged.Groups)
	}
	if merged.Groups["default"].Name != "changed in the directory" || merged.Groups["local"] == nil || merged.Groups["services"].Name != "same on both" {
		t.Errorf("mine not kept: %+v", merged.Groups)
	}
	if dir.Groups["worker"].Name == "changed in the store" || dir.Groups["extra"] != nil {
		t.Errorf("Merge3 changed dir")
	}
	if ch := Diff(stored, merged); !slices.Equal(ch.Created, []string{"groups/local"}) || !slices.Equal(ch.Updated, []string{"groups/default"}) || len(ch.Deleted) != 0 {
		t.Errorf("merged against stored: %+v, want only the directory's edits", ch)
	}

	// Both changed differently: a conflict; a deletion against an edit
	// too.
	with(dir, "worker", "changed in the directory")
	with(dir, "raw-node", "edited, deleted in the store")
	_, _, conflicts = Merge3(base, stored, dir)
	if want := []string{"groups/raw-node", "groups/worker"}; !slices.Equal(conflicts, want) {
		t.Errorf("conflicts %v, want %v", conflicts, want)
	}
}

// TestSyncMark: the mark round-trips, a directory without one has none,
// and a damaged one is an error naming the file and what to do.
func TestSyncMark(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "groups"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "groups", "a.json"), []byte(`{"id":"a","profile":"p"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := ReadSyncMark(dir); ok || err != nil {
		t.Fatalf("no mark: %v %v", ok, err)
	}
	m := SyncMark{Origin: "etcd cluster 0000000000000001, prefix /p/", Revision: 42}
	if err := WriteSyncMark(dir, m); err != nil {
		t.Fatal(err)
	}
	got, ok, err := ReadSyncMark(dir)
	if err != nil || !ok || got.Origin != m.Origin || got.Revision != m.Revision {
		t.Fatalf("read back %+v %v %v", got, ok, err)
	}
	if c, err := LoadDir(dir); err != nil || len(c.Notes) != 0 || len(c.Groups) != 1 {
		t.Errorf("LoadDir of a directory with a mark: %v", err)
	}
	path := filepath.Join(dir, SyncMarkFile)
	if err := os.WriteFile(path, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadSyncMark(dir); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("damaged mark: %v", err)
	}
}
