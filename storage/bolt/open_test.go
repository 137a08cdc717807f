package bolt

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"
)

func TestPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b") // created by Open
	s := mustOpen(t, dir)
	defer s.Close()
	if want := filepath.Join(dir, FileName); s.Path() != want {
		t.Errorf("Path() = %q, want %q", s.Path(), want)
	}
	if _, err := os.Stat(s.Path()); err != nil {
		t.Errorf("database file: %v", err)
	}
}

// A second provisiond on the same --data-dir must stop at once with a
// message that says why, not hang or share the file.
func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	defer s.Close()
	start := time.Now()
	s2, err := Open(dir)
	if err == nil {
		s2.Close()
		t.Fatal("second Open of the same dir succeeded")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("second Open took %s to fail", took)
	}
	path := filepath.Join(dir, FileName)
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "locked") {
		t.Errorf("second Open: %q, want the file %s and \"locked\"", msg, path)
	}
	if !errors.Is(err, ErrLocked) {
		t.Errorf("second Open: %v is not ErrLocked", err)
	}
	// The first store is unharmed, and the lock goes with it.
	if _, err := s.Leases(t.Context()); err != nil {
		t.Fatalf("first store after the refused Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	mustOpen(t, dir).Close()
}

func TestOpenSchemaMismatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	writeSchema(t, path, "2")
	s, err := Open(dir)
	if err == nil {
		s.Close()
		t.Fatal("Open of a schema 2 database succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "schema version 2") {
		t.Errorf("Open: %q, want the file and its schema version", msg)
	}
	// The database is left as it was, and unlocked.
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatalf("database left locked or broken: %v", err)
	}
	defer db.Close()
	db.View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bMeta).Get([]byte("schema")); string(v) != "2" {
			t.Errorf("schema after the refused Open = %q, want it untouched", v)
		}
		if tx.Bucket(bLeases) != nil {
			t.Error("the refused Open created buckets")
		}
		return nil
	})
}

func TestOpenSchemaCurrent(t *testing.T) {
	dir := t.TempDir()
	writeSchema(t, filepath.Join(dir, FileName), schemaVersion)
	mustOpen(t, dir).Close()
}

func TestOpenNotADatabase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, []byte(strings.Repeat("not a bolt file\n", 512)), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(dir); err == nil {
		s.Close()
		t.Fatal("Open of a file that is not a database succeeded")
	} else if !strings.Contains(err.Error(), path) {
		t.Errorf("Open: %q, want the file named", err)
	}
}

func TestOpenDirIsAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(file); err == nil {
		s.Close()
		t.Fatal("Open of a regular file as the data dir succeeded")
	}
}

// writeSchema creates a database holding only a schema version.
func writeSchema(t *testing.T, path, version string) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket(bMeta)
		if err != nil {
			return err
		}
		return b.Put([]byte("schema"), []byte(version))
	})
	if err != nil {
		t.Fatal(err)
	}
}
