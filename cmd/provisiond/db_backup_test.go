package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sameFile fails t unless path holds exactly want.
func sameFile(t *testing.T, path string, want []byte, why string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", why, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: %s was changed (%d bytes, was %d)", why, path, len(got), len(want))
	}
}

// tempLeft returns the temporary files a backup left in dir.
func tempLeft(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			left = append(left, e.Name())
		}
	}
	return left
}

// db backup -f FILE refuses an existing FILE unless --force, and replaces
// it only with a copy that was written whole and checked.
func TestDBBackupExistingFile(t *testing.T) {
	dir, leases := dbDir(t, 20)
	out := t.TempDir()
	file := filepath.Join(out, "backup.db")
	old := []byte("yesterday's backup, not to be lost")
	if err := os.WriteFile(file, old, 0o600); err != nil {
		t.Fatal(err)
	}

	code, stdout, errs := runDB(t, "backup", "--data-dir", dir, "-f", file)
	if code != 1 || !strings.Contains(errs, file) || !strings.Contains(errs, "--force") || !strings.Contains(errs, "remove it") {
		t.Errorf("db backup over an existing file: exit %d, want 1 naming %s, remove it and --force\n%s%s", code, file, stdout, errs)
	}
	sameFile(t, file, old, "a refused backup")

	// A backup that fails (here a damaged store) leaves FILE as it was,
	// even with --force.
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "provisiond.db"), bytes.Repeat([]byte{0xa5}, 8192), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runDB(t, "backup", "--data-dir", bad, "-f", file, "--force"); code != 1 {
		t.Errorf("db backup --force of a damaged store: exit %d, want 1\n%s", code, errs)
	}
	sameFile(t, file, old, "a failed backup with --force")

	// A server that answers something that is not a database: the copy
	// does not check, so it never takes FILE's name.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("not a bbolt file "), 1000))
	}))
	defer srv.Close()
	code, _, errs = runDB(t, "backup", "--server", srv.URL, "-f", file, "--force")
	if code != 1 || !strings.Contains(errs, "does not check") {
		t.Errorf("db backup --force of a copy that does not check: exit %d\n%s", code, errs)
	}
	sameFile(t, file, old, "a backup that does not check, with --force")
	if left := tempLeft(t, out); len(left) != 1 || !strings.Contains(errs, left[0]) {
		t.Errorf("the copy that does not check: want it kept and named in the error, found %v\n%s", left, errs)
	} else {
		os.Remove(filepath.Join(out, left[0]))
	}

	// --force replaces it with a whole, checked copy.
	code, stdout, errs = runDB(t, "backup", "--data-dir", dir, "-f", file, "--force")
	if code != 0 || !strings.Contains(stdout, "checked ok") {
		t.Fatalf("db backup --force: exit %d\n%s%s", code, stdout, errs)
	}
	if got := leasesOf(t, file); !sameLeaseSet(got, leases) {
		t.Errorf("the forced backup holds %d leases, want the %d stored", len(got), len(leases))
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the backup's mode: %v %v, want 0600", st.Mode(), err)
	}
	if left := tempLeft(t, out); len(left) != 0 {
		t.Errorf("temporary files left beside the backup: %v", left)
	}
}

// writeFileAtomic without force refuses a path that appears while the
// copy is being written, rather than replacing it.
func TestWriteFileAtomicNoClobber(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "b.db")
	write := func(w io.Writer) (int64, error) {
		// Another process creates path meanwhile.
		if err := os.WriteFile(path, []byte("theirs"), 0o600); err != nil {
			return 0, err
		}
		n, err := w.Write([]byte("ours"))
		return int64(n), err
	}
	ok := func(string) error { return nil }
	_, err := writeFileAtomic(path, false, write, ok)
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("writeFileAtomic over a file that appeared: %v, want a refusal naming --force", err)
	}
	sameFile(t, path, []byte("theirs"), "a refused write")
	if left := tempLeft(t, dir); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if _, err := writeFileAtomic(path, true, func(w io.Writer) (int64, error) { n, err := w.Write([]byte("ours")); return int64(n), err }, ok); err != nil {
		t.Fatal(err)
	}
	sameFile(t, path, []byte("ours"), "a forced write")
}
