package catalog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrNotCatalogDir is returned (wrapped) by LoadDir for a directory that
// holds none of profiles/, groups/, machines/ and pools/: the catalog's
// parent, one of its subdirectories, or a typo. Loading it would replace
// the stored catalog with an empty one, releasing every registered
// machine's lease.
var ErrNotCatalogDir = errors.New("not a catalog directory")

// layoutDirs are the subdirectories of which a catalog directory has at
// least one.
var layoutDirs = []string{"profiles", "groups", "machines", "pools"}

// checkLayout refuses a directory with none of layoutDirs, naming it and,
// when it can tell, the directory that was meant.
func checkLayout(dir string) error {
	if hasLayout(dir) {
		return nil
	}
	msg := fmt.Sprintf("it has none of %s/", strings.Join(layoutDirs, "/, "))
	abs, _ := filepath.Abs(dir)
	base, parent := filepath.Base(abs), filepath.Dir(abs)
	switch {
	case isCatalogSubdir(base) && hasLayout(parent):
		msg += fmt.Sprintf("; this is the catalog's %s/ directory: give its parent, %s", base, parent)
	default:
		if inside := layoutsBelow(dir); len(inside) > 0 {
			msg += fmt.Sprintf("; did you mean %s?", strings.Join(inside, " or "))
		}
	}
	return fmt.Errorf("catalog: %s: %w: %s", dir, ErrNotCatalogDir, msg)
}

func hasLayout(dir string) bool {
	for _, sub := range layoutDirs {
		if st, err := os.Stat(filepath.Join(dir, sub)); err == nil && st.IsDir() {
			return true
		}
	}
	return false
}

func isCatalogSubdir(name string) bool {
	switch name {
	case "profiles", "groups", "machines", "pools", "ignition", "cloud", "generic", "assets":
		return true
	}
	return false
}

// layoutsBelow lists (at most three of) dir's subdirectories that are
// catalog directories.
func layoutsBelow(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && hasLayout(filepath.Join(dir, e.Name())) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	if len(out) > 3 {
		out = out[:3]
	}
	return out
}
