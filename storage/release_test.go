package storage_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/bolt"
)

// TestCatalogsRelease: a release frees the address in the store and the
// table; a pinned lease is refused with ErrConflict, a free address with
// ErrNotFound.
func TestCatalogsRelease(t *testing.T) {
	s, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	table := ipam.NewTable(nil)
	cats := &storage.Catalogs{Store: s, Leases: table}
	c, err := catalog.DecodeDocument([]byte(`{
		"profiles": [{"id": "p", "boot": {}}],
		"groups": [{"id": "g", "profile": "p", "pool": "net"}],
		"pools": [{"name": "net", "cidr": "10.0.0.0/24", "start": "10.0.0.10", "end": "10.0.0.20"}],
		"machines": [{"name": "pinned", "mac": "52:54:00:00:00:01", "leases": {"net": "10.0.0.15"}},
		             {"name": "auto", "mac": "52:54:00:00:00:02"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := cats.Replace(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if _, err := cats.Release(t.Context(), "net", netip.MustParseAddr("10.0.0.15")); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("pinned: %v, want ErrConflict", err)
	}
	if _, err := cats.Release(t.Context(), "net", netip.MustParseAddr("10.0.0.19")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("free address: %v, want ErrNotFound", err)
	}
	l, err := cats.Release(t.Context(), "net", netip.MustParseAddr("10.0.0.10"))
	if err != nil || l.MAC != "52:54:00:00:00:02" {
		t.Fatalf("release: %v %v", l, err)
	}
	if _, ok := table.Lookup("net", "52:54:00:00:00:02"); ok {
		t.Errorf("the table still holds the lease")
	}
	leases, _ := s.Leases(t.Context())
	for _, l := range leases {
		if l.Address == netip.MustParseAddr("10.0.0.10") {
			t.Errorf("the store still holds the lease")
		}
	}
}
