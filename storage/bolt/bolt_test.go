package bolt

import (
	"path/filepath"
	"testing"

	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return mustOpen(t, t.TempDir())
	}, func(t *testing.T, old storage.Store) storage.Store {
		dir := filepath.Dir(old.(*Store).Path())
		if err := old.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		return mustOpen(t, dir)
	})
}

func mustOpen(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}
