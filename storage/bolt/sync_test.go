package bolt

import (
	"fmt"
	"reflect"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/profiles"
)

// TestCatalogWriteOnlyWhatChanged writes a catalog, writes it again, then
// a changed one (a group changed, one removed, one added, a template
// removed): each time the stored catalog reads back as written, its
// revision is the one a fresh database holding the same catalog has, and
// writing the same catalog again changes no page but bbolt's meta page.
// The catalog spans several of syncBucket's encoding batches, changed in
// more than one, and its pages are written full.
func TestCatalogWriteOnlyWhatChanged(t *testing.T) {
	ctx := t.Context()
	mk := func(n int) *catalog.Catalog {
		c := catalog.New()
		c.Profiles["p"] = &profiles.Profile{ID: "p", Boot: profiles.Boot{Kernel: "/k"}, IgnitionID: "a.ign"}
		c.Templates[profiles.KindIgnition]["a.ign"] = `{"ignition":{"version":"3.3.0"}}`
		c.Templates[profiles.KindIgnition]["b.ign"] = `{"ignition":{"version":"3.3.0"}}`
		for i := range n {
			id := fmt.Sprintf("g%05d", i)
			c.Groups[id] = &groups.Group{ID: id, Profile: "p", Selector: groups.SelectorOf(map[string]string{"mac": fmt.Sprintf("52:54:00:00:%02x:%02x", i>>8, i&0xff)}),
				Metadata: groups.MetadataOf(map[string]any{"hostname": id})}
		}
		return c
	}
	s := mustOpen(t, t.TempDir())
	defer s.Close()
	write := func(c *catalog.Catalog) {
		t.Helper()
		_, rev, err := s.LoadCatalogRevision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		written, err := s.ReplaceCatalogAt(ctx, rev, c, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, now, err := s.LoadCatalogRevision(ctx); err != nil || now != written {
			t.Fatalf("ReplaceCatalogAt returned revision %016x, the store reads %016x (%v)", written, now, err)
		}
	}
	check := func(want *catalog.Catalog) {
		t.Helper()
		got, rev, err := s.LoadCatalogRevision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{"profiles", "groups", "templates"} {
			var g, w any = got.Groups, want.Groups
			switch kind {
			case "profiles":
				g, w = got.Profiles, want.Profiles
			case "templates":
				g, w = got.Templates, want.Templates
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("stored %s differ from the written ones", kind)
			}
		}
		fresh := mustOpen(t, t.TempDir())
		defer fresh.Close()
		if err := fresh.ReplaceCatalog(ctx, want, nil); err != nil {
			t.Fatal(err)
		}
		_, freshRev, err := fresh.LoadCatalogRevision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rev != freshRev {
			t.Errorf("revision %016x, a fresh database with the same catalog has %016x", rev, freshRev)
		}
	}
	n := 2*encodeBatch + 500
	a := mk(n)
	write(a)
	check(a)
	s.db.View(func(tx *bbolt.Tx) error {
		st := tx.Bucket(bCatalog).Bucket([]byte("groups")).Stats()
		if fill := float64(st.LeafInuse) / float64(st.LeafAlloc); fill < 0.9 {
			t.Errorf("groups' leaf pages %.0f%% full, want them full (fillPercent)", 100*fill)
		}
		return nil
	})

	st := s.db.Stats()
	before := st.TxStats.GetWrite()
	write(a)
	st = s.db.Stats()
	if w := st.TxStats.GetWrite() - before; w > 2 {
		t.Errorf("writing the same catalog again wrote %d pages, want at most the meta page", w)
	}
	check(a)

	b := mk(n)
	b.Groups["g00010"].Metadata = groups.MetadataOf(map[string]any{"hostname": "changed"})
	b.Groups[fmt.Sprintf("g%05d", encodeBatch+7)].Metadata = groups.MetadataOf(map[string]any{"hostname": "changed too"})
	delete(b.Groups, "g02000")
	delete(b.Groups, fmt.Sprintf("g%05d", 2*encodeBatch+1))
	b.Groups["zz"] = &groups.Group{ID: "zz", Profile: "p", Selector: groups.SelectorOf(map[string]string{"role": "x"})}
	delete(b.Templates[profiles.KindIgnition], "b.ign")
	write(b)
	check(b)
}
