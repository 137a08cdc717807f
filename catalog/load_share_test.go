package catalog

import (
	"reflect"
	"slices"
	"testing"

	"github.com/provisiond/provisiond/groups"
)

// TestLoadDirOverSharesEqualGroups: loading a directory over the served
// catalog keeps the served object for each group that did not change
// (one copy in memory), and a new object for a group that changed, even
// in a way that encodes alike (metadata 1 and 1.0 decode equal; an empty
// selector map and none do not).
func TestLoadDirOverSharesEqualGroups(t *testing.T) {
	files := base()
	files["groups/c.json"] = `{"id":"c","profile":"p","selector":{"role":"c"},"metadata":{"n":1,"list":["x",{"y":null}],"on":true}}`
	files["groups/d.json"] = `{"profile":"p","selector":{"role":"d"}}` // id from the file name
	prev, err := LoadDir(writeDir(t, files))
	if err != nil {
		t.Fatal(err)
	}

	files["groups/b.json"] = `{"id":"b","profile":"p","selector":{"role":"b"},"pool":"net","metadata":{"x":"changed"}}`
	files["groups/c.json"] = `{"id":"c","profile":"p","selector":{"role":"c"},"metadata":{"n":1.0,"list":["x",{"y":null}],"on":true}}`
	files["groups/e.json"] = `{"id":"e","profile":"p","selector":{"role":"e"}}`
	next, err := LoadDirOver(writeDir(t, files), prev)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true, "e": false} {
		g := next.Groups[id]
		if g == nil {
			t.Fatalf("group %s not loaded", id)
		}
		if shared := g == prev.Groups[id]; shared != want {
			t.Errorf("group %s: shared with the served catalog %v, want %v", id, shared, want)
		}
		fresh, err := LoadDir(writeDir(t, files))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, fresh.Groups[id]) {
			t.Errorf("group %s loaded over the served catalog is %+v, loaded alone %+v", id, g, fresh.Groups[id])
		}
	}
	if next.Groups["b"].Metadata.Map()["x"] != "changed" {
		t.Errorf("the changed group b kept the served content: %+v", next.Groups["b"])
	}
	if _, err := LoadDirOver(writeDir(t, files), nil); err != nil {
		t.Errorf("LoadDirOver with no served catalog: %v", err)
	}
}

// TestEqualGroupKnowsEveryField: equalGroup decides whether a loaded
// group may be replaced by the served one (LoadDirOver) and whether Diff
// encodes it; a field it does not compare would let a changed group pass
// as unchanged. A field added to groups.Group must be added there.
func TestEqualGroupKnowsEveryField(t *testing.T) {
	known := []string{"ID", "Name", "Profile", "Selector", "Metadata", "Pool", "EtcdCluster", "InstallOnce", "Written"}
	var fields []string
	for f := range reflect.TypeFor[groups.Group]().Fields() {
		fields = append(fields, f.Name)
	}
	slices.Sort(fields)
	slices.Sort(known)
	if !slices.Equal(fields, known) {
		t.Fatalf("groups.Group has fields %v; equalGroup (diff.go) compares %v: compare the new ones", fields, known)
	}
	a := &groups.Group{ID: "a", Name: "n", Profile: "p", Selector: groups.SelectorOf(map[string]string{"k": "v"}), Metadata: groups.MetadataOf(map[string]any{"m": "v"}),
		Pool: "pool", EtcdCluster: true, InstallOnce: true, Written: groups.SelectorOf(map[string]string{"K": "v"})}
	for _, change := range []func(g *groups.Group){
		func(g *groups.Group) { g.ID = "b" },
		func(g *groups.Group) { g.Name = "m" },
		func(g *groups.Group) { g.Profile = "q" },
		func(g *groups.Group) { g.Selector = groups.SelectorOf(map[string]string{"k": "w"}) },
		func(g *groups.Group) { g.Metadata = groups.MetadataOf(map[string]any{"m": "w"}) },
		func(g *groups.Group) { g.Pool = "other" },
		func(g *groups.Group) { g.EtcdCluster = false },
		func(g *groups.Group) { g.InstallOnce = false },
		func(g *groups.Group) { g.Written = nil },
	} {
		b := *a
		change(&b)
		if equalGroup(a, &b) {
			t.Errorf("equalGroup(%+v, %+v) = true", a, b)
		}
	}
	b := *a
	if !equalGroup(a, &b) {
		t.Error("equalGroup of a copy = false")
	}
}
