package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
	"github.com/provisiond/provisiond/storage"
)

const (
	versionMachines = 150 // pinned machines per version
	versionEnsured  = 40  // machines per version with an automatic lease
)

// crashVersion is generation gen of the catalog the replace child writes:
// even generations are version A, odd ones B. The two share object names
// with different contents, and each one's lease ops release the other's
// machines, so that any mixture of the two shows. The generation itself is
// the generic template "gen".
type crashVersion struct {
	catalog *catalog.Catalog
	ops     []storage.LeaseOp
	leases  map[string]string // mac -> address, "!" appended for a pin
}

func buildVersion(gen int) crashVersion {
	v, other := "a", "b"
	if gen%2 == 1 {
		v, other = "b", "a"
	}
	pool := crashPool()
	c := catalog.New()
	c.Pools[pool.Name] = pool
	extra := &ipam.Pool{Name: v + "-only", CIDR: "10.31.0.0/24", Start: "10.31.0.10", End: "10.31.0.99"}
	if v == "b" {
		extra.CIDR, extra.Start, extra.End = "10.32.0.0/24", "10.32.0.20", "10.32.0.29"
	}
	if err := extra.Validate(); err != nil {
		panic(err)
	}
	c.Pools[extra.Name] = extra
	nProfiles := map[string]int{"a": 20, "b": 15}[v]
	for i := range nProfiles {
		id := fmt.Sprintf("p%02d", i)
		c.Profiles[id] = &profiles.Profile{ID: id, Boot: profiles.Boot{
			Kernel: fmt.Sprintf("/assets/%s/%d/vmlinuz", v, i),
			Args:   []string{"version=" + v, "i=" + strconv.Itoa(i)},
		}, IgnitionID: fmt.Sprintf("t%02d.yaml", i%12)}
		g := &groups.Group{ID: fmt.Sprintf("g%02d", i), Profile: id, Pool: pool.Name,
			Selector: groups.SelectorOf(map[string]string{"role": v + strconv.Itoa(i)}), Metadata: groups.MetadataOf(map[string]any{"version": v})}
		if err := g.Normalize(); err != nil {
			panic(err)
		}
		c.Groups[g.ID] = g
	}
	nTemplates := map[string]int{"a": 16, "b": 12}[v]
	for i := range nTemplates {
		c.Templates[profiles.KindIgnition][fmt.Sprintf("t%02d.yaml", i)] =
			fmt.Sprintf("# %s %d\n", v, i) + strings.Repeat(v, 8<<10)
	}
	c.Templates[profiles.KindGeneric]["gen"] = strconv.Itoa(gen)

	leases := map[string]string{}
	var releases, pins, ensures []storage.LeaseOp
	versionMAC := func(v string, kind byte, i int) string {
		return fmt.Sprintf("02:%s%s:%02x:00:%02x:%02x", v, v, kind, byte(i>>8), byte(i))
	}
	for i := range versionMachines {
		m := &catalog.Machine{Name: fmt.Sprintf("m%03d", i), MAC: versionMAC(v, 1, i),
			Labels: map[string]string{"role": v + strconv.Itoa(i%nProfiles)},
			Leases: map[string]string{pool.Name: pinAddress(v, i).String()}}
		if err := m.Normalize(); err != nil {
			panic(err)
		}
		c.Machines[m.Name] = m
		pins = append(pins, storage.LeaseOp{Kind: storage.OpPin, Pool: pool, MAC: m.MAC, Address: pinAddress(v, i), Machine: m.Name})
		leases[m.MAC] = pinAddress(v, i).String() + "!"
		releases = append(releases, storage.LeaseOp{Kind: storage.OpRelease, MAC: versionMAC(other, 1, i)})
	}
	// The ensured machines of either version draw the pool's lowest
	// addresses, since the other version's were released first.
	a := pool.First()
	for i := range versionEnsured {
		if pool.IsReserved(a) {
			a = pool.Next(a)
		}
		m := &catalog.Machine{Name: fmt.Sprintf("e%03d", i), MAC: versionMAC(v, 2, i)}
		if err := m.Normalize(); err != nil {
			panic(err)
		}
		c.Machines[m.Name] = m
		ensures = append(ensures, storage.LeaseOp{Kind: storage.OpEnsure, Pool: pool, MAC: m.MAC, Machine: m.Name})
		leases[m.MAC] = a.String()
		a = pool.Next(a)
		releases = append(releases, storage.LeaseOp{Kind: storage.OpRelease, MAC: versionMAC(other, 2, i)})
	}
	return crashVersion{catalog: c, ops: append(append(releases, pins...), ensures...), leases: leases}
}

// pinAddress is the pin of machine i of version v: 10.30.100.x for a,
// 10.30.101.x for b.
func pinAddress(v string, i int) netip.Addr {
	third := byte(100)
	if v == "b" {
		third = 101
	}
	return netip.AddrFrom4([4]byte{10, 30, third, byte(i + 1)})
}

// childReplace replaces the catalog with generation after generation until
// it is killed, reporting each once ReplaceCatalog has returned.
func childReplace(s *Store, gen int) {
	for ; ; gen++ {
		v := buildVersion(gen)
		if err := s.ReplaceCatalog(context.Background(), v.catalog, v.ops); err != nil {
			childFail("replace %d: %v", gen, err)
		}
		childSay("commit %d", gen)
	}
}

// catalogJSON is a catalog's stored content as JSON, maps sorted, sources
// aside: two catalogs with the same JSON hold the same objects.
func catalogJSON(t *testing.T, c *catalog.Catalog) string {
	t.Helper()
	js, err := json.MarshalIndent(map[string]any{
		"profiles": c.Profiles, "groups": c.Groups, "pools": c.Pools,
		"machines": c.Machines, "templates": c.Templates,
	}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(js)
}

func TestCrashReplaceCatalog(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: runs child processes")
	}
	rng := crashRNG(t)
	dir := t.TempDir()
	next := 0
	for run := range crashRuns {
		delay := time.Duration(rng.IntN(300)) * time.Millisecond
		lines := startChild(t, "replace", dir, next).killAfterFirst(t, delay)
		last := -1
		for _, line := range lines {
			var gen int
			if _, err := fmt.Sscanf(line, "commit %d", &gen); err != nil {
				t.Fatalf("child line %q: %v", line, err)
			}
			last = gen
		}

		s := mustOpen(t, dir)
		stored, err := s.LoadCatalog(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		gen, err := strconv.Atoi(stored.Templates[profiles.KindGeneric]["gen"])
		if err != nil {
			t.Fatalf("run %d: stored generation: %v", run, err)
		}
		// The last reported commit is durable; the one in flight at the
		// kill may have landed too, whole.
		if gen != last && gen != last+1 {
			t.Fatalf("run %d: stored generation %d, the child last reported %d", run, gen, last)
		}
		want := buildVersion(gen)
		if got, w := catalogJSON(t, stored), catalogJSON(t, want.catalog); got != w {
			t.Fatalf("run %d: stored catalog is not generation %d whole:\n%s", run, gen, firstDiff(got, w))
		}
		got := map[string]string{}
		for _, l := range checkStore(t, s) {
			v := l.Address.String()
			if l.Pinned {
				v += "!"
			}
			got[l.MAC] = v
		}
		if fmt.Sprint(got) != fmt.Sprint(want.leases) {
			t.Fatalf("run %d: leases do not match generation %d:\n%s", run, gen, firstDiff(fmt.Sprint(got), fmt.Sprint(want.leases)))
		}
		t.Logf("run %d: killed %s after the first commit; reported %d..%d, stored %d", run, delay, next, last, gen)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		next = gen + 1
	}
}

// firstDiff shows where two long strings part.
func firstDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-80)
	return fmt.Sprintf("at byte %d:\n got ...%.200s\nwant ...%.200s", i, got[lo:], want[lo:])
}
