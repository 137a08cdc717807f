package storage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
	"github.com/provisiond/provisiond/storage"
)

func addProfile(id string) func(*catalog.Catalog) error {
	return func(c *catalog.Catalog) error {
		c.Profiles[id] = &profiles.Profile{ID: id, Boot: profiles.Boot{Kernel: "/assets/" + id}}
		return nil
	}
}

// TestUpdateStaleReplica runs two Catalogs over one real bbolt store, as
// two replicas over one shared store: B's served copy is older than the
// stored catalog, and its change is applied to the stored one, so A's
// change survives; and fn sees the stored version, so a precondition it
// checks (an ETag) fails against a version it never served.
func TestUpdateStaleReplica(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a := &storage.Catalogs{Store: e.store, Leases: ipam.NewTable(nil)}
	b := &storage.Catalogs{Store: e.store, Leases: ipam.NewTable(nil)}
	if _, _, err := a.Replace(ctx, catalog.New()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.LoadStored(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Update(ctx, addProfile("from-a")); err != nil {
		t.Fatal(err)
	}
	if b.Current().Catalog.Profiles["from-a"] != nil {
		t.Fatal("B serves A's change without a reload: the test no longer tests a stale replica")
	}
	snap, _, err := b.Update(ctx, addProfile("from-b"))
	if err != nil {
		t.Fatal(err)
	}
	if snap.Catalog.Profiles["from-a"] == nil || snap.Catalog.Profiles["from-b"] == nil {
		t.Fatalf("B's update from a stale copy: profiles %v, want from-a and from-b", keys(snap.Catalog.Profiles))
	}
	stored, err := e.store.LoadCatalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Profiles["from-a"] == nil || stored.Profiles["from-b"] == nil {
		t.Fatalf("stored profiles %v, want from-a and from-b", keys(stored.Profiles))
	}

	// A precondition checked inside fn refers to the stored version.
	errStale := errors.New("precondition failed")
	_, _, err = a.Update(ctx, func(c *catalog.Catalog) error {
		if c.Profiles["from-b"] == nil {
			return errStale // A never served from-b: a stale check would pass
		}
		return addProfile("checked")(c)
	})
	if err != nil {
		t.Fatalf("A's update checking for B's profile: %v", err)
	}
}

// TestUpdateRetriesRace makes another writer land between Update's read
// and its write, on every attempt: fn runs again each time, and after
// storage.MaxCatalogAttempts the update fails with storage.ErrUnavailable,
// writing nothing of its own.
func TestUpdateRetriesRace(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a := &storage.Catalogs{Store: e.store, Leases: ipam.NewTable(nil)}
	other := &storage.Catalogs{Store: e.store, Leases: ipam.NewTable(nil)}
	if _, _, err := a.Replace(ctx, catalog.New()); err != nil {
		t.Fatal(err)
	}
	calls := 0
	_, _, err := a.Update(ctx, func(c *catalog.Catalog) error {
		calls++
		// Another replica writes after this attempt read the catalog.
		if _, _, err := other.Update(context.WithoutCancel(ctx), addProfile(fmt.Sprintf("other-%d", calls))); err != nil {
			return err
		}
		return addProfile("mine")(c)
	})
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Update losing every race: %v, want storage.ErrUnavailable", err)
	}
	if calls != storage.MaxCatalogAttempts {
		t.Errorf("fn ran %d times, want %d", calls, storage.MaxCatalogAttempts)
	}
	stored, err := e.store.LoadCatalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Profiles["mine"] != nil || len(stored.Profiles) != storage.MaxCatalogAttempts {
		t.Errorf("stored profiles %v, want the other writer's only", keys(stored.Profiles))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestReplaceOverHandsTheReplacedCatalog: ReplaceOver hands over the
// stored catalog as the write reads it, including another replica's
// change that landed after this one served its copy; when another write
// lands between the read and the write, the retry hands over the fresh
// stored catalog, and the last one handed over is the one replaced.
func TestReplaceOverHandsTheReplacedCatalog(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a := &storage.Catalogs{Store: e.store, Leases: ipam.NewTable(nil)}
	other := &storage.Catalogs{Store: e.store, Leases: ipam.NewTable(nil)}
	if _, _, err := a.Replace(ctx, catalog.New()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.Update(ctx, addProfile("from-other")); err != nil {
		t.Fatal(err)
	}
	next := catalog.New()
	if err := addProfile("next")(next); err != nil {
		t.Fatal(err)
	}
	var seen []*catalog.Catalog
	snap, _, err := a.ReplaceOver(ctx, next, func(stored *catalog.Catalog) {
		seen = append(seen, stored)
		if len(seen) == 1 {
			// Another write lands between this read and the write.
			if _, _, err := other.Update(ctx, addProfile("late")); err != nil {
				t.Error(err)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 {
		t.Fatalf("over called %d times, want 2 (the write, then its retry after the stale compare-and-swap)", len(seen))
	}
	if seen[0].Profiles["from-other"] == nil || seen[0].Profiles["late"] != nil {
		t.Errorf("first attempt handed over profiles %v, want from-other only", keys(seen[0].Profiles))
	}
	if seen[1].Profiles["from-other"] == nil || seen[1].Profiles["late"] == nil {
		t.Errorf("retry handed over profiles %v, want from-other and late", keys(seen[1].Profiles))
	}
	if snap.Catalog.Profiles["next"] == nil || len(snap.Catalog.Profiles) != 1 {
		t.Errorf("served profiles %v, want next only", keys(snap.Catalog.Profiles))
	}
	stored, err := e.store.LoadCatalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.Profiles) != 1 || stored.Profiles["next"] == nil {
		t.Errorf("stored profiles %v, want next only", keys(stored.Profiles))
	}
	// nil over is Replace.
	if _, _, err := a.ReplaceOver(ctx, catalog.New(), nil); err != nil {
		t.Fatal(err)
	}
}
