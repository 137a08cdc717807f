package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadDirReadsThroughSymlinks: catalog files are read through
// symlinks (users link templates and groups), and a group that is a
// symlink to a directory, or a dangling one, is refused naming the file.
func TestLoadDirReadsThroughSymlinks(t *testing.T) {
	files := base()
	dir := writeDir(t, files)
	elsewhere := t.TempDir()
	target := filepath.Join(elsewhere, "c.json")
	if err := os.WriteFile(target, []byte(`{"id":"c","profile":"p","selector":{"role":"c"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "groups", "c.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	c, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if g := c.Groups["c"]; g == nil || g.Selector.Map()["role"] != "c" {
		t.Fatalf("the linked group: %+v", g)
	}

	os.Remove(link)
	if err := os.Symlink(elsewhere, link); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), link+": is a directory; groups/ holds files only") {
		t.Errorf("a group linked to a directory: %v", err)
	}

	os.Remove(link)
	if err := os.Symlink(filepath.Join(elsewhere, "gone.json"), link); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), link+": open "+link+": no such file or directory") {
		t.Errorf("a dangling link: %v", err)
	}
}
