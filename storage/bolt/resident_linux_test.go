package bolt

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/profiles"
)

// mappedRSS is the resident size, in bytes, of this process's mappings of
// path (/proc/self/smaps).
func mappedRSS(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	total, in := 0, false
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			in = len(f) >= 6 && f[len(f)-1] == path
			continue
		}
		if in && len(f) == 3 && f[0] == "Rss:" {
			kb, _ := strconv.Atoi(f[1])
			total += kb << 10
		}
	}
	return total
}

// TestCatalogReadLeavesNoPagesResident: reading, replacing, or taking
// the revision of a large stored catalog leaves its pages out of the
// process's resident memory (they stay in the page cache), and the
// catalog reads back whole after that.
func TestCatalogReadLeavesNoPagesResident(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := mustOpen(t, dir)
	defer s.Close()
	c := largeCatalog(20000)
	_, rev, err := s.LoadCatalogRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rev, err = s.ReplaceCatalogAt(ctx, rev, c, nil); err != nil {
		t.Fatal(err)
	}
	path := s.path
	size := int(fileSize(path))
	if size < 4<<20 {
		t.Fatalf("the database is %d bytes: too small to tell", size)
	}
	check := func(what string) {
		t.Helper()
		if r := mappedRSS(t, path); r > size/4 {
			t.Errorf("after %s: %d of the file's %d bytes resident in the mapping, want few", what, r, size)
		}
	}
	check("ReplaceCatalogAt")
	got, rev2, err := s.LoadCatalogRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check("LoadCatalogRevision")
	if rev2 != rev || len(got.Groups) != len(c.Groups) || got.Groups["g19999"].Metadata.Map()["hostname"] != "g19999" {
		t.Fatalf("read back: revision %016x (wrote %016x), %d groups", rev2, rev, len(got.Groups))
	}
	if _, _, err := s.CatalogRevision(ctx); err != nil {
		t.Fatal(err)
	}
	check("CatalogRevision")
	if _, err := s.ReplaceCatalogAt(ctx, rev, c, nil); err != nil {
		t.Fatal(err)
	}
	check("ReplaceCatalogAt of the same catalog")
}

// TestResidentWalkBoundsMappedPages: a walk over a stored bucket that
// counts what it reads (residentWalk) holds at most about its chunk of
// the file's pages resident at any step, where a plain walk ends with
// the whole bucket resident; and it reads every value whole.
func TestResidentWalkBoundsMappedPages(t *testing.T) {
	ctx := t.Context()
	s := mustOpen(t, t.TempDir())
	defer s.Close()
	c := largeCatalog(20000)
	if err := s.ReplaceCatalog(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	size := int(fileSize(s.path))
	const chunk = 512 << 10
	walk := func(bounded bool) (most, values int) {
		err := s.db.View(func(tx *bbolt.Tx) error {
			dropResident(tx)
			w := &residentWalk{tx: tx, chunk: chunk}
			return tx.Bucket(bCatalog).Bucket([]byte("groups")).ForEach(func(k, v []byte) error {
				if _, err := groups.Decode(v); err != nil {
					return fmt.Errorf("%s: %w", k, err)
				}
				values++
				if bounded {
					w.read(len(k) + len(v))
				}
				if values%1000 == 0 {
					most = max(most, mappedRSS(t, s.path))
				}
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return most, values
	}
	plain, n := walk(false)
	if n != 20000 {
		t.Fatalf("plain walk read %d groups, want 20000", n)
	}
	if plain < 8*chunk {
		t.Fatalf("a plain walk held only %d of the file's %d bytes resident: the test cannot tell", plain, size)
	}
	bounded, n := walk(true)
	if n != 20000 {
		t.Fatalf("bounded walk read %d groups, want 20000", n)
	}
	// The chunk's pages, the branch pages, and what the kernel maps
	// around each fault (fault-around, 64 KiB).
	if bounded > 2*chunk+256<<10 {
		t.Errorf("bounded walk: up to %d bytes resident (chunk %d, file %d), want about the chunk", bounded, chunk, size)
	}
}

// largeCatalog is a catalog of n groups of about 300 bytes each, one
// mac each, and their profile.
func largeCatalog(n int) *catalog.Catalog {
	c := catalog.New()
	c.Profiles["p"] = &profiles.Profile{ID: "p", Boot: profiles.Boot{Kernel: "/k"}}
	for i := range n {
		id := fmt.Sprintf("g%05d", i)
		c.Groups[id] = &groups.Group{ID: id, Profile: "p", Selector: groups.SelectorOf(map[string]string{"mac": fmt.Sprintf("52:54:00:00:%02x:%02x", i>>8, i&0xff)}),
			Metadata: groups.MetadataOf(map[string]any{"hostname": id, "pad": strings.Repeat("x", 200)})}
	}
	return c
}

// TestSaveMachinesLeavesNoPagesResident: writing the records of many
// stored machines (an inventory flush) leaves the pages of the file it
// went through out of the process's resident memory, and what was
// written reads back.
func TestSaveMachinesLeavesNoPagesResident(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := mustOpen(t, dir)
	defer s.Close()
	const n = 20000
	ms := make([]inventory.Machine, n)
	t0 := time.Date(2026, 12, 1, 21, 0, 0, 0, time.UTC)
	for i := range ms {
		mac := fmt.Sprintf("52:54:00:%02x:%02x:%02x", i>>16&255, i>>8&255, i&255)
		ms[i] = inventory.Machine{Key: mac, MAC: mac, FirstSeen: t0, LastSeen: t0, LastEndpoint: "/ipxe",
			Group: fmt.Sprintf("m%06d", i), Profile: "butane", State: inventory.Discovered}
		for j := range 3 {
			ms[i].Events = append(ms[i].Events, inventory.Event{Time: t0.Add(time.Duration(j) * time.Second),
				Endpoint: "/ipxe", Group: ms[i].Group, Profile: "butane", Remote: "10.0.0.1:4000", Status: 200})
		}
	}
	if err := s.SaveMachines(ctx, ms); err != nil {
		t.Fatal(err)
	}
	// Again: every Put now goes through the pages of the stored tree.
	for i := range ms {
		ms[i].Events[2].Repeats = 7
	}
	if err := s.SaveMachines(ctx, ms); err != nil {
		t.Fatal(err)
	}
	size := int(fileSize(s.path))
	if size < 4<<20 {
		t.Fatalf("the database is %d bytes: too small to tell", size)
	}
	if r := mappedRSS(t, s.path); r > size/4 {
		t.Errorf("after SaveMachines: %d of the file's %d bytes resident in the mapping, want few", r, size)
	}
	got, err := s.Machines(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n || got[n-1].Events[2].Repeats != 7 || got[n-1].Group != ms[n-1].Group {
		t.Fatalf("read back %d machines, the last %+v", len(got), got[len(got)-1])
	}
}
