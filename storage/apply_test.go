package storage_test

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/bolt"
)

// env is a real bolt store and the lease table Apply keeps in step.
type env struct {
	t     *testing.T
	store *bolt.Store
	table *ipam.Table
}

func newEnv(t *testing.T) *env {
	s, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &env{t: t, store: s, table: ipam.NewTable(nil)}
}

func (e *env) apply(c *catalog.Catalog) *catalog.Snapshot {
	e.t.Helper()
	snap, _, err := storage.Apply(e.t.Context(), e.store, e.table, c, catalog.Options{})
	if err != nil {
		e.t.Fatalf("Apply: %v", err)
	}
	if snap == nil || snap.Catalog != c {
		e.t.Fatal("Apply returned no snapshot of the applied catalog")
	}
	return snap
}

func (e *env) leases() []ipam.Lease {
	e.t.Helper()
	return e.leasesT(e.t)
}

func (e *env) leasesT(t *testing.T) []ipam.Lease {
	t.Helper()
	ls, err := e.store.Leases(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return sortLeases(ls)
}

func sortLeases(ls []ipam.Lease) []ipam.Lease {
	slices.SortFunc(ls, func(a, b ipam.Lease) int {
		return cmp.Or(cmp.Compare(a.Pool, b.Pool), a.Address.Compare(b.Address))
	})
	return ls
}

// want checks the stored leases and the table: exactly mac -> address
// (with "!" after the address for a pin).
func (e *env) want(leases map[string]string) {
	e.t.Helper()
	got := map[string]string{}
	for _, l := range e.leases() {
		if l.Pool != "lan" {
			e.t.Errorf("lease in pool %s", l.Pool)
		}
		v := l.Address.String()
		if l.Pinned {
			v += "!"
		}
		if _, dup := got[l.MAC]; dup {
			e.t.Errorf("%s holds two leases", l.MAC)
		}
		got[l.MAC] = v
	}
	if !reflect.DeepEqual(got, leases) {
		e.t.Errorf("stored leases:\n got %v\nwant %v", got, leases)
	}
	if n := e.table.Count("lan"); n != len(leases) {
		e.t.Errorf("table holds %d leases, want %d", n, len(leases))
	}
	for mac, a := range leases {
		l, ok := e.table.Lookup("lan", mac)
		if !ok || l.Address != addr(strings.TrimSuffix(a, "!")) {
			e.t.Errorf("table lease of %s = %v %v, want %s", mac, l.Address, ok, a)
		}
	}
}

// unchanged checks that a refused Apply left store and table as they were.
func (e *env) unchanged(t *testing.T, before []ipam.Lease, gen uint64, old *catalog.Catalog) {
	t.Helper()
	if after := e.leasesT(t); !slices.Equal(after, before) {
		t.Errorf("leases changed by a refused Apply:\n got %v\nwant %v", after, before)
	}
	if g := e.table.Generation(); g != gen {
		t.Errorf("table changed by a refused Apply (generation %d, was %d)", g, gen)
	}
	if got := sortLeases(e.table.All()); !slices.Equal(got, before) {
		t.Errorf("table content changed by a refused Apply:\n got %v\nwant %v", got, before)
	}
	stored, lerr := e.store.LoadCatalog(t.Context())
	if lerr != nil {
		t.Fatal(lerr)
	}
	if !reflect.DeepEqual(slices.Sorted(maps.Keys(stored.Machines)), slices.Sorted(maps.Keys(old.Machines))) ||
		!reflect.DeepEqual(slices.Sorted(maps.Keys(stored.Groups)), slices.Sorted(maps.Keys(old.Groups))) {
		t.Errorf("stored catalog changed by a refused Apply: machines %v groups %v, want %v %v",
			slices.Sorted(maps.Keys(stored.Machines)), slices.Sorted(maps.Keys(stored.Groups)),
			slices.Sorted(maps.Keys(old.Machines)), slices.Sorted(maps.Keys(old.Groups)))
	}
	for name, m := range old.Machines {
		if !reflect.DeepEqual(stored.Machines[name], m) {
			t.Errorf("stored machine %s = %+v, want %+v", name, stored.Machines[name], m)
		}
	}
}

func TestApplyLeasesBeforeBoot(t *testing.T) {
	e := newEnv(t)
	c := newCatalog(t,
		"w2 "+macW2+" role=worker",
		"w1 "+macW1+" role=worker",
		"w3 "+macW3+" role=worker @lan=10.0.0.11",
		"db "+macDB, // no pool: no lease
		"bmc - role=worker",
	)
	e.apply(c)
	// Ensures run in machine name order from the lowest address, around
	// the pin (.11) and the reserved .12.
	e.want(map[string]string{macW1: "10.0.0.10", macW2: "10.0.0.13", macW3: "10.0.0.11!"})
	// The stored catalog is the applied one.
	stored, err := e.store.LoadCatalog(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stored.Machines, c.Machines) {
		t.Errorf("stored machines %v, want %v", stored.Machines, c.Machines)
	}
	// Applying the same catalog again changes nothing.
	before := e.leases()
	e.apply(newCatalog(t,
		"w2 "+macW2+" role=worker",
		"w1 "+macW1+" role=worker",
		"w3 "+macW3+" role=worker @lan=10.0.0.11",
		"db "+macDB,
		"bmc - role=worker",
	))
	if after := e.leases(); !slices.Equal(after, before) {
		t.Errorf("re-applying changed leases:\n got %v\nwant %v", after, before)
	}
}

func TestApplyRemovedMachineLosesLeases(t *testing.T) {
	e := newEnv(t)
	e.apply(newCatalog(t, "w1 "+macW1+" role=worker", "w2 "+macW2+" role=worker", "w3 "+macW3+" @lan=10.0.0.20"))
	e.want(map[string]string{macW1: "10.0.0.10", macW2: "10.0.0.11", macW3: "10.0.0.20!"})

	// w1 and w3 leave the registry; w4 arrives and gets w1's freed address,
	// the lowest. A pin on w3's freed address is accepted.
	e.apply(newCatalog(t, "w2 "+macW2+" role=worker", "w4 "+macW4+" role=worker", "db "+macDB+" @lan=10.0.0.20"))
	e.want(map[string]string{macW2: "10.0.0.11", macW4: "10.0.0.10", macDB: "10.0.0.20!"})
}

// A machine that boots before it is registered keeps the address it was
// given once it is registered.
func TestApplyKeepsBootLease(t *testing.T) {
	e := newEnv(t)
	c := newCatalog(t)
	e.apply(c)
	l, err := e.store.Allocate(t.Context(), c.Pools["lan"], macW2)
	if err != nil {
		t.Fatal(err)
	}
	e.apply(newCatalog(t, "w1 "+macW1+" role=worker", "w2 "+macW2+" role=worker"))
	e.want(map[string]string{macW2: l.Address.String(), macW1: "10.0.0.11"})
}

func TestApplyPinConflictRefused(t *testing.T) {
	e := newEnv(t)
	old := newCatalog(t, "w1 "+macW1+" role=worker", "w2 "+macW2+" role=worker")
	e.apply(old)
	e.want(map[string]string{macW1: "10.0.0.10", macW2: "10.0.0.11"})
	before, gen := e.leases(), e.table.Generation()

	// w4 pins w2's automatic lease; w1 leaves and w3 arrives in the same
	// change, which must not land either.
	next := newCatalog(t, "w2 "+macW2+" role=worker", "w3 "+macW3+" role=worker", "w4 "+macW4+" @lan=10.0.0.11")
	snap, _, err := storage.Apply(t.Context(), e.store, e.table, next, catalog.Options{})
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("Apply with a pin on another machine's lease: %v, want storage.ErrConflict", err)
	}
	if snap != nil {
		t.Error("a refused Apply returned a snapshot")
	}
	for _, want := range []string{"w4", "10.0.0.11", macW2} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	e.unchanged(t, before, gen, old)
}

func TestApplyInvalidWritesNothing(t *testing.T) {
	e := newEnv(t)
	old := newCatalog(t, "w1 "+macW1+" role=worker")
	e.apply(old)
	before, gen := e.leases(), e.table.Generation()
	for name, broken := range map[string]func(c *catalog.Catalog){
		// A group naming a missing profile is a warning since matchbox's
		// gRPC API may write one (catalog.Validate); a missing pool is not.
		"group without pool": func(c *catalog.Catalog) {
			c.Groups["x"] = &groups.Group{ID: "x", Profile: "plain", Selector: groups.SelectorOf(map[string]string{"x": "1"}), Pool: "nosuch"}
		},
		"pin outside the pool": func(c *catalog.Catalog) { c.Machines["w2"].Leases = map[string]string{"lan": "10.9.0.1"} },
		"pin on the gateway":   func(c *catalog.Catalog) { c.Machines["w2"].Leases = map[string]string{"lan": "10.0.0.1"} },
		"two machines, one mac": func(c *catalog.Catalog) {
			c.Machines["w3"] = &catalog.Machine{Name: "w3", MAC: macW2, Labels: map[string]string{}}
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := newCatalog(t, "w2 "+macW2+" role=worker", "w4 "+macW4+" role=worker")
			broken(c)
			_, _, err := storage.Apply(t.Context(), e.store, e.table, c, catalog.Options{})
			if !errors.Is(err, catalog.ErrInvalid) {
				t.Fatalf("Apply: %v, want catalog.ErrInvalid", err)
			}
			e.unchanged(t, before, gen, old)
		})
	}
}

// The same flow from a matchbox-layout directory, as provisiond loads it.
func TestApplyFromDir(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"profiles/worker.json": `{"id":"worker","boot":{"kernel":"/assets/vmlinuz","args":["ip={{.ip.address}}"]}}`,
		"groups/workers.json":  `{"id":"workers","profile":"worker","selector":{"role":"worker"},"pool":"lan"}`,
		"pools/lan.json":       `{"name":"lan","cidr":"10.0.0.0/24","start":"10.0.0.10","end":"10.0.0.20","gateway":"10.0.0.1"}`,
		"machines/a.json":      `{"name":"a","mac":"52-54-00-00-00-01","labels":{"role":"worker"}}`,
		"machines/b.json":      `{"name":"b","mac":"52:54:00:00:00:02","labels":{"role":"worker"},"leases":{"lan":"10.0.0.20"}}`,
	}
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := catalog.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.apply(c)
	e.want(map[string]string{macW1: "10.0.0.10", macW2: "10.0.0.20!"})
}

func TestApplyExhaustedRefused(t *testing.T) {
	e := newEnv(t)
	old := newCatalog(t, "w1 "+macW1+" role=worker")
	e.apply(old)
	before, gen := e.leases(), e.table.Generation()
	// Ten assignable addresses (10-20 but the reserved .12), eleven workers.
	var ms []string
	for i := range 11 {
		ms = append(ms, fmt.Sprintf("n%02d 52:54:00:00:01:%02x role=worker", i, i))
	}
	_, _, err := storage.Apply(t.Context(), e.store, e.table, newCatalog(t, ms...), catalog.Options{})
	if !errors.Is(err, ipam.ErrExhausted) {
		t.Fatalf("Apply with more workers than addresses: %v, want ipam.ErrExhausted", err)
	}
	if !strings.Contains(err.Error(), "n10") {
		t.Errorf("error %q does not name the machine left without an address", err)
	}
	e.unchanged(t, before, gen, old)
}

// Leases of a pool that leaves the catalog are kept, with a warning.
func TestApplyWarnsOrphanLeases(t *testing.T) {
	e := newEnv(t)
	e.apply(newCatalog(t, "w1 "+macW1+" role=worker", "w2 "+macW2+" role=worker"))
	c := newCatalog(t, "w1 "+macW1+" role=worker", "w2 "+macW2+" role=worker")
	delete(c.Pools, "lan")
	c.Groups["workers"].Pool = ""
	// Without a pool the workers have no .ip: their boot arguments must
	// not ask for it (the catalog would be refused for that).
	c.Profiles["worker"] = &profiles.Profile{ID: "worker", Boot: profiles.Boot{Kernel: "/assets/vmlinuz"}}
	_, warnings, err := storage.Apply(t.Context(), e.store, e.table, c, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := `pool "lan" is no longer in the catalog; its 2 leases are kept`
	if !slices.Contains(warnings, want) {
		t.Errorf("warnings %q, want %q", warnings, want)
	}
	e.want(map[string]string{macW1: "10.0.0.10", macW2: "10.0.0.11"})
}
