package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A --catalog that points at the catalog's parent, at one of its
// subdirectories, or at an empty directory is refused, naming it, instead
// of loading as an empty catalog over the stored one.
func TestLoadDirNotACatalog(t *testing.T) {
	root := writeDir(t, map[string]string{
		"prod/profiles/p.json":    `{"id": "p", "boot": {"kernel": "/k"}}`,
		"prod/groups/g.json":      `{"id": "g", "profile": "p"}`,
		"prod/ignition/p.yaml":    "variant: flatcar\nversion: 1.0.0\n",
		"empty/README.md":         "nothing\n",
		"only-templates/cloud/c":  "#cloud-config\n",
		"sub/deeper/pools/x.json": `{"name": "x", "cidr": "10.0.0.0/24", "start": "10.0.0.10", "end": "10.0.0.20"}`,
	})
	prod := filepath.Join(root, "prod")
	tests := []struct {
		dir  string
		want []string
	}{
		{root, []string{root + ":", "none of profiles/, groups/, machines/, pools/", "did you mean " + prod}},
		{filepath.Join(prod, "groups"), []string{filepath.Join(prod, "groups"), "this is the catalog's groups/ directory: give its parent, " + prod}},
		{filepath.Join(prod, "ignition"), []string{"give its parent, " + prod}},
		{filepath.Join(root, "empty"), []string{filepath.Join(root, "empty") + ":", "not a catalog directory"}},
		{filepath.Join(root, "only-templates"), []string{"only-templates"}},
		{filepath.Join(root, "sub"), []string{"did you mean " + filepath.Join(root, "sub", "deeper")}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.dir), func(t *testing.T) {
			c, err := LoadDir(tt.dir)
			if err == nil {
				t.Fatalf("loaded %d groups", len(c.Groups))
			}
			if !errors.Is(err, ErrNotCatalogDir) {
				t.Errorf("%v: want ErrNotCatalogDir", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q\nlacks %q", err, w)
				}
			}
		})
	}
	// One of the four is enough, even empty: an emptied catalog is the
	// store's guard's to refuse (storage.CheckReleases), not a layout
	// mistake.
	for _, sub := range layoutDirs {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadDir(dir); err != nil {
			t.Errorf("a directory with %s/ only: %v", sub, err)
		}
	}
	if _, err := LoadDir(prod); err != nil {
		t.Errorf("the catalog itself: %v", err)
	}
}
