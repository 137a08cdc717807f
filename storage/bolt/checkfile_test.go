package bolt

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckFileNotChecked: what is not a database file at all (missing, a
// directory) is an error naming the path, not a damaged database.
func TestCheckFileNotChecked(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		path, want string
	}{
		{filepath.Join(dir, "missing.db"), "no database here"},
		{dir, "a directory, not a database file"},
	} {
		rep, err := CheckFile(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrDamaged) {
			t.Errorf("CheckFile(%s): %+v, %v; want an error naming it with %q", tc.path, rep, err, tc.want)
		}
	}
	// A file that is not a database is checked, and damaged.
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := CheckFile(junk)
	if err != nil || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "header") {
		t.Errorf("CheckFile(junk): %+v, %v; want one problem about its header", rep, err)
	}
}
