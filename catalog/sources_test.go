package catalog

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestSources: a group read from its usual file and one read from a file
// of another name are both found; a deleted or replaced object loses its
// file in its own catalog only; WriteBack still writes each group to the
// file it came from.
func TestSources(t *testing.T) {
	files := base()
	files["groups/install.json"] = `{"id":"stage-0","profile":"p","selector":{"role":"s"}}`
	files["groups/a-b.json"] = `{"id":"a-b","profile":"p","selector":{"role":"ab"}}`
	dir := writeDir(t, files)
	c, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"groups/a":        filepath.Join(dir, "groups", "a.json"),
		"groups/a-b":      filepath.Join(dir, "groups", "a-b.json"),
		"groups/stage-0":  filepath.Join(dir, "groups", "install.json"),
		"profiles/p":      filepath.Join(dir, "profiles", "p.json"),
		"ignition/i.yaml": filepath.Join(dir, "ignition", "i.yaml"),
	}
	for ref, path := range want {
		if got, ok := c.Sources.Get(ref); !ok || got != path {
			t.Errorf("Sources.Get(%s) = %q, %v; want %q", ref, got, ok, path)
		}
	}
	for _, ref := range []string{"groups/nope", "groups/install", "groups/", "profiles/a"} {
		if got, ok := c.Sources.Get(ref); ok {
			t.Errorf("Sources.Get(%s) = %q, want none", ref, got)
		}
	}
	named := map[string]bool{}
	for ref := range c.Sources.Named() {
		named[ref] = true
	}
	if !named["groups/stage-0"] || !named["profiles/p"] || named["groups/a"] {
		t.Errorf("Named = %v: want the group of install.json and the profile, not groups/a", named)
	}

	// A clone's deletes and sets stay in the clone.
	d := c.Clone()
	d.Sources.Delete("groups/a")
	d.Sources.Delete("groups/stage-0")
	d.Sources.Set("groups/b", "/elsewhere/b.json")
	if _, ok := d.Sources.Get("groups/a"); ok {
		t.Error("a deleted usual group keeps its file")
	}
	if _, ok := d.Sources.Get("groups/stage-0"); ok {
		t.Error("a deleted named group keeps its file")
	}
	if got, _ := d.Sources.Get("groups/b"); got != "/elsewhere/b.json" {
		t.Errorf("Set: groups/b = %q", got)
	}
	for ref, path := range want {
		if got, _ := c.Sources.Get(ref); got != path {
			t.Errorf("after the clone's changes, the original's %s = %q, want %q", ref, got, path)
		}
	}
	// With fills what the clone has no file for from the original's
	// named entries: the group of install.json, not the usual group.
	w := d.Sources.With(&c.Sources)
	if got, _ := w.Get("groups/stage-0"); got != want["groups/stage-0"] {
		t.Errorf("With: groups/stage-0 = %q", got)
	}
	if _, ok := w.Get("groups/a"); ok {
		t.Error("With: the deleted usual group came back")
	}
	if _, ok := d.Sources.Get("groups/stage-0"); ok {
		t.Error("With changed its receiver")
	}

	// A change of each group is written back to the file it was read from.
	e := c.Clone()
	for _, id := range []string{"a", "a-b", "stage-0"} {
		g := *e.Groups[id]
		g.Name = "changed"
		e.Groups[id] = &g
	}
	ch, err := WriteBack(dir, c, e)
	if err != nil || len(ch.Updated) != 3 {
		t.Fatalf("WriteBack = %+v, %v", ch, err)
	}
	back, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "a-b", "stage-0"} {
		if back.Groups[id] == nil || back.Groups[id].Name != "changed" {
			t.Errorf("group %s after write-back: %+v", id, back.Groups[id])
		}
	}
	if _, ok := back.Groups["install"]; ok || len(back.Groups) != len(c.Groups) {
		t.Errorf("write-back made new files: %d groups, want %d", len(back.Groups), len(c.Groups))
	}
}

// TestLoadDirDuplicateGroupIDNamesBothFiles: a group id in two files is
// refused naming both, the usual file first.
func TestLoadDirDuplicateGroupIDNamesBothFiles(t *testing.T) {
	files := base()
	files["groups/z.json"] = `{"id":"a","profile":"p","selector":{"role":"z"}}`
	dir := writeDir(t, files)
	_, err := LoadDir(dir)
	if err == nil {
		t.Fatal("loaded a directory with group id a twice")
	}
	a, z := filepath.Join(dir, "groups", "a.json"), filepath.Join(dir, "groups", "z.json")
	if !strings.Contains(err.Error(), a+" and "+z) {
		t.Errorf("err %q, want it to name %s and %s", err, a, z)
	}
}
