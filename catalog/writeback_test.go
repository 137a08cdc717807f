package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/profiles"
)

func writeTestFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestWriteBackReloads: every kind of change written back into a
// directory loads back as the catalog it was written from, in files named
// as matchbox names them.
func TestWriteBackReloads(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "profiles", "worker.json"), `{"id":"worker","boot":{"kernel":"/k"},"ignition_id":"worker.yaml"}`)
	writeTestFile(t, filepath.Join(dir, "groups", "install.json"), `{"id":"stage-0","profile":"worker","selector":{"role":"install"}}`)
	writeTestFile(t, filepath.Join(dir, "groups", "old.json"), `{"id":"old","profile":"worker","selector":{"role":"old"}}`)
	writeTestFile(t, filepath.Join(dir, "groups", "README.md"), "not a group\n")
	writeTestFile(t, filepath.Join(dir, "ignition", "worker.yaml"), "variant: fcos\nversion: 1.4.0\n")
	prev, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}

	next := prev.Clone()
	// A group as Terraform writes it: the selector as written is kept.
	g := &groups.Group{ID: "node1", Profile: "node1", Selector: groups.SelectorOf(map[string]string{"MAC": "52-54-00-A1-9C-AE", "os": "installed"}),
		Metadata: groups.MetadataOf(map[string]any{"cluster": "typhoon"})}
	g.Written = groups.SelectorOf(map[string]string{"MAC": "52-54-00-A1-9C-AE", "os": "installed"})
	if err := g.Normalize(); err != nil {
		t.Fatal(err)
	}
	next.Groups["node1"] = g
	next.Profiles["node1"] = &profiles.Profile{ID: "node1", IgnitionID: "node1.ign"}
	next.Templates[profiles.KindIgnition]["node1.ign"] = `{"ignition":{"version":"3.3.0"}}`
	next.Templates[profiles.KindGeneric]["node1"] = "generic {{.mac}}\n"
	stage0 := *next.Groups["stage-0"]
	stage0.Name = "renamed"
	next.Groups["stage-0"] = &stage0
	delete(next.Groups, "old")
	delete(next.Templates[profiles.KindIgnition], "worker.yaml")

	ch, err := WriteBack(dir, prev, next)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ch.Created, " ") + " | " + strings.Join(ch.Updated, " ") + " | " + strings.Join(ch.Deleted, " "); got !=
		"generic/node1 groups/node1 ignition/node1.ign profiles/node1 | groups/stage-0 | groups/old ignition/worker.yaml" {
		t.Errorf("changes: %s", got)
	}
	for _, f := range []string{"profiles/node1.json", "groups/node1.json", "groups/install.json", "ignition/node1.ign", "generic/node1", "groups/README.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, f := range []string{"groups/old.json", "ignition/worker.yaml", "groups/stage-0.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s: want no such file, got %v", f, err)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "groups"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}

	back, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(next, back); !d.Empty() {
		t.Errorf("the directory reloads with differences: %+v", d)
	}
	if w := back.Groups["node1"].Written; w.Map()["MAC"] != "52-54-00-A1-9C-AE" || w.Map()["os"] != "installed" {
		t.Errorf("selector as written after reload: %v", w)
	}
	if s := back.Groups["node1"].Selector; s.Map()["mac"] != "52:54:00:a1:9c:ae" {
		t.Errorf("selector after reload: %v", s)
	}
	// Writing the same catalog again changes nothing.
	if ch, err := WriteBack(dir, back, next); err != nil || !ch.Empty() {
		t.Errorf("second write: %+v %v", ch, err)
	}
}

// TestWriteBackRefuses: names that would not load back, and a new object
// whose file belongs to another, are refused before any file is written.
func TestWriteBackRefuses(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "groups", "install.json"), `{"id":"stage-0","profile":"p"}`)
	prev, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Catalog)
		want string
	}{
		{"hidden name", func(c *Catalog) { c.Templates[profiles.KindGeneric][".x"] = "x" }, `".x" cannot be a file name in generic/`},
		{"path", func(c *Catalog) { c.Templates[profiles.KindGeneric]["a/b"] = "x" }, `"a/b" cannot be a file name`},
		{"another object's file", func(c *Catalog) {
			c.Groups["install"] = &groups.Group{ID: "install", Profile: "p", Selector: groups.SelectorOf(map[string]string{"a": "b"})}
		}, "holds groups/stage-0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := prev.Clone()
			next.Profiles["p"] = &profiles.Profile{ID: "p"}
			tc.edit(next)
			_, err := WriteBack(dir, prev, next)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "profiles", "p.json")); !os.IsNotExist(err) {
				t.Errorf("a file was written before the refusal: %v", err)
			}
		})
	}
}

// TestWriteBackKeepsOthersFiles: deleting an object never removes the file
// another object was loaded from (an undo of a refused write does that).
func TestWriteBackKeepsOthersFiles(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "groups", "install.json"), `{"id":"stage-0","profile":"p"}`)
	prev, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	withInstall := prev.Clone()
	withInstall.Groups["install"] = &groups.Group{ID: "install", Profile: "p", Selector: groups.SelectorOf(map[string]string{"a": "b"})}
	if _, err := WriteBack(dir, withInstall, prev); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "groups", "install.json")); err != nil || !strings.Contains(string(b), "stage-0") {
		t.Errorf("groups/install.json: %q %v", b, err)
	}
}
