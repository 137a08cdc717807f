package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/storage"
)

// countingStore counts the stored catalog's decodes (LoadCatalogRevision)
// of a real bbolt store, behind storage.Timed as serve wires it.
type countingStore struct {
	storage.Store
	decodes int
}

func (s *countingStore) LoadCatalogRevision(ctx context.Context) (*catalog.Catalog, storage.Revision, error) {
	s.decodes++
	return s.Store.LoadCatalogRevision(ctx)
}

// CatalogRevision forwards to the bbolt store's revision-only read.
func (s *countingStore) CatalogRevision(ctx context.Context) (storage.Revision, bool, error) {
	return s.Store.(interface {
		CatalogRevision(context.Context) (storage.Revision, bool, error)
	}).CatalogRevision(ctx)
}

// TestReplaceOverServedDecodesNothing: replacing the catalog being served
// (a restart with --catalog over the stored catalog, a SIGHUP, an admin
// API write) does not decode the stored catalog again when the store is
// at the revision served: over gets the served catalog itself. When
// another writer changed the store, the stored catalog is decoded and
// over gets that one, and the write lands over it.
func TestReplaceOverServedDecodesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	counted := &countingStore{Store: e.store}
	timed := &storage.Timed{Store: counted, Observe: func(string, time.Duration) {}}
	cs := &storage.Catalogs{Store: timed, Leases: ipam.NewTable(nil)}
	if _, _, err := cs.Replace(ctx, catalog.New()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cs.Update(ctx, addProfile("first")); err != nil {
		t.Fatal(err)
	}
	snap, _, err := cs.LoadStored(ctx)
	if err != nil {
		t.Fatal(err)
	}
	counted.decodes = 0
	next := snap.Catalog.Clone()
	if err := addProfile("second")(next); err != nil {
		t.Fatal(err)
	}
	var got *catalog.Catalog
	if _, _, err := cs.ReplaceOver(ctx, next, func(stored *catalog.Catalog) { got = stored }); err != nil {
		t.Fatal(err)
	}
	if counted.decodes != 0 {
		t.Errorf("replacing the served catalog decoded the stored one %d times, want 0", counted.decodes)
	}
	if got != snap.Catalog {
		t.Errorf("over got %p, want the served catalog %p (the stored one, at the served revision)", got, snap.Catalog)
	}

	// Another writer: the store is no longer at the served revision.
	other := &storage.Catalogs{Store: e.store, Leases: ipam.NewTable(nil)}
	if _, _, err := other.Update(ctx, addProfile("from-other")); err != nil {
		t.Fatal(err)
	}
	counted.decodes = 0
	got = nil
	last := cs.Current().Catalog.Clone()
	if err := addProfile("third")(last); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cs.ReplaceOver(ctx, last, func(stored *catalog.Catalog) { got = stored }); err != nil {
		t.Fatal(err)
	}
	if counted.decodes != 1 {
		t.Errorf("after another writer's change: %d decodes of the stored catalog, want 1", counted.decodes)
	}
	if got == nil || got.Profiles["from-other"] == nil {
		t.Errorf("over did not get the stored catalog with the other writer's profile")
	}
	stored, err := e.store.LoadCatalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Profiles["third"] == nil || stored.Profiles["from-other"] != nil {
		t.Errorf("stored profiles %v, want the replacement's (third, no from-other)", keys(stored.Profiles))
	}
}
