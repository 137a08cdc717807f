package storagetest

import (
	"cmp"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
	"github.com/provisiond/provisiond/storage"
)

// The suite's pools. Objects are built with their packages' Decode
// functions, so they are in the normalized form a store gives back.
const (
	// lanJSON: gateway .1 and reserved .2 and .4, so the automatic order
	// is .3, .5, .6, ...
	lanJSON = `{"name":"lan","cidr":"10.1.0.0/24","start":"10.1.0.1","end":"10.1.0.254",
		"gateway":"10.1.0.1","dns":["10.1.0.53"],"reserved":["10.1.0.2","10.1.0.4"]}`
	// tinyJSON: two assignable addresses, .2 and .4.
	tinyJSON = `{"name":"tiny","cidr":"10.2.0.0/29","start":"10.2.0.2","end":"10.2.0.4",
		"gateway":"10.2.0.1","reserved":["10.2.0.3"]}`
	// v6JSON: fd00:1::10 is reserved, so the first lease is fd00:1::11.
	v6JSON = `{"name":"v6","cidr":"fd00:1::/64","start":"fd00:1::10","end":"fd00:1::1f",
		"gateway":"fd00:1::1","reserved":["fd00:1::10"]}`
)

func mustPool(t testing.TB, js string) *ipam.Pool {
	t.Helper()
	p, err := ipam.Decode([]byte(js))
	if err != nil {
		t.Fatalf("pool fixture: %v", err)
	}
	return p
}

func lan(t testing.TB) *ipam.Pool  { return mustPool(t, lanJSON) }
func tiny(t testing.TB) *ipam.Pool { return mustPool(t, tinyJSON) }
func v6(t testing.TB) *ipam.Pool   { return mustPool(t, v6JSON) }

func mustProfile(t testing.TB, js string) *profiles.Profile {
	t.Helper()
	p, err := profiles.Decode([]byte(js))
	if err != nil {
		t.Fatalf("profile fixture: %v", err)
	}
	return p
}

func mustGroup(t testing.TB, js string) *groups.Group {
	t.Helper()
	g, err := groups.Decode([]byte(js))
	if err != nil {
		t.Fatalf("group fixture: %v", err)
	}
	return g
}

func mustMachine(t testing.TB, js string) *catalog.Machine {
	t.Helper()
	m, err := catalog.DecodeMachine([]byte(js))
	if err != nil {
		t.Fatalf("machine fixture: %v", err)
	}
	return m
}

// mac returns a distinct, normalized mac for each i.
func mac(i int) string {
	return fmt.Sprintf("02:00:%02x:%02x:%02x:%02x", byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// fullCatalog has objects of every kind, with the fields that are easy to
// lose on the way: selectors, metadata of every JSON type, pools with dns
// and reserved lists, machine labels and pins, and templates whose bytes
// are not plain text.
func fullCatalog(t testing.TB) *catalog.Catalog {
	c := catalog.New()
	for _, js := range []string{
		`{"id":"worker","name":"Worker","boot":{"kernel":"/assets/vmlinuz","initrd":["/assets/initrd"],
			"args":["console=ttyS0","ip={{.ip.address}}"]},"ignition_id":"worker.yaml","cloud_id":"worker.cloud",
			"generic_id":"worker.env"}`,
		`{"id":"raw","boot":{"kernel":"/assets/raw"},"ignition_id":"raw.ign"}`,
	} {
		p := mustProfile(t, js)
		c.Profiles[p.ID] = p
	}
	for _, js := range []string{
		`{"id":"workers","name":"Workers","profile":"worker","selector":{"role":"worker","os":"installed"},
			"metadata":{"ssh_keys":["ssh-ed25519 AAAA"],"count":3,"ratio":0.5,"on":true,"nested":{"a":{"b":"c"}},"none":null},
			"pool":"lan"}`,
		`{"id":"default","profile":"raw"}`,
		`{"id":"one","profile":"raw","selector":{"mac":"52-54-00-89-D8-10"}}`,
	} {
		g := mustGroup(t, js)
		c.Groups[g.ID] = g
	}
	for _, js := range []string{lanJSON, v6JSON} {
		p := mustPool(t, js)
		c.Pools[p.Name] = p
	}
	for _, js := range []string{
		`{"name":"node1","mac":"52:54:00:89:d8:10","labels":{"role":"worker","rack":"r1"},"leases":{"lan":"10.1.0.10","v6":"fd00:1::1a"}}`,
		`{"name":"node2","mac":"52:54:00:89:d8:11","uuid":"0f9e3b1a-2c4d-4e5f-8a9b-0c1d2e3f4a5b"}`,
		`{"name":"bmc","uuid":"11111111-2222-3333-4444-555555555555","labels":{"kind":"bmc"}}`,
	} {
		m := mustMachine(t, js)
		c.Machines[m.Name] = m
	}
	c.Templates[profiles.KindIgnition]["worker.yaml"] = "variant: flatcar\nversion: 1.0.0\n# {{.ip.address}}\r\n\ttrailing \n"
	c.Templates[profiles.KindIgnition]["raw.ign"] = `{"ignition":{"version":"3.4.0"}}`
	c.Templates[profiles.KindCloud]["worker.cloud"] = "#cloud-config\nhostname: {{.machine.name}}\n"
	c.Templates[profiles.KindGeneric]["worker.env"] = "BYTES=\x00\x01\xfe\xff é ü\n"
	c.Templates[profiles.KindGeneric]["empty"] = ""
	return c
}

// smallCatalog shares names with fullCatalog but has fewer objects, some of
// them changed.
func smallCatalog(t testing.TB) *catalog.Catalog {
	c := catalog.New()
	p := mustProfile(t, `{"id":"raw","boot":{"kernel":"/assets/raw2"},"ignition_id":"raw.ign"}`)
	c.Profiles[p.ID] = p
	g := mustGroup(t, `{"id":"default","profile":"raw","pool":"tiny"}`)
	c.Groups[g.ID] = g
	pool := mustPool(t, tinyJSON)
	c.Pools[pool.Name] = pool
	m := mustMachine(t, `{"name":"node2","mac":"52:54:00:89:d8:11"}`)
	c.Machines[m.Name] = m
	c.Templates[profiles.KindIgnition]["raw.ign"] = `{"ignition":{"version":"3.5.0"}}`
	return c
}

// checkCatalog reports every object of got and want that differs, by name.
// Sources are not stored and not compared.
func checkCatalog(t testing.TB, got, want *catalog.Catalog) {
	t.Helper()
	checkMap(t, "profiles", got.Profiles, want.Profiles)
	checkMap(t, "groups", got.Groups, want.Groups)
	checkMap(t, "pools", got.Pools, want.Pools)
	checkMap(t, "machines", got.Machines, want.Machines)
	for _, kind := range profiles.Kinds {
		checkMap(t, "templates/"+string(kind), got.Templates[kind], want.Templates[kind])
	}
	for kind := range got.Templates {
		if !slices.Contains(profiles.Kinds, kind) {
			t.Errorf("stored catalog has templates of unknown kind %q", kind)
		}
	}
}

// sortedLeases returns leases ordered by pool, then address.
func sortedLeases(ls []ipam.Lease) []ipam.Lease {
	ls = slices.Clone(ls)
	slices.SortFunc(ls, func(a, b ipam.Lease) int {
		return cmp.Or(cmp.Compare(a.Pool, b.Pool), a.Address.Compare(b.Address))
	})
	return ls
}

func (h *harness) leases() []ipam.Lease {
	h.t.Helper()
	ls, err := h.s.Leases(h.t.Context())
	if err != nil {
		h.t.Fatalf("Leases: %v", err)
	}
	return sortedLeases(ls)
}

func (h *harness) allocate(p *ipam.Pool, mac string) ipam.Lease {
	h.t.Helper()
	l, err := h.s.Allocate(h.t.Context(), p, mac)
	if err != nil {
		h.t.Fatalf("Allocate(%s, %s): %v", p.Name, mac, err)
	}
	if l.Pool != p.Name || l.MAC != mac || !l.Address.IsValid() {
		h.t.Fatalf("Allocate(%s, %s) = %+v: wrong pool, mac or address", p.Name, mac, l)
	}
	return l
}

// allocateWant allocates and checks the address.
func (h *harness) allocateWant(p *ipam.Pool, mac, want string) ipam.Lease {
	h.t.Helper()
	l := h.allocate(p, mac)
	if l.Address != addr(want) {
		h.t.Fatalf("Allocate(%s, %s) = %s, want %s", p.Name, mac, l.Address, want)
	}
	return l
}

func (h *harness) loadCatalog() *catalog.Catalog {
	h.t.Helper()
	c, err := h.s.LoadCatalog(h.t.Context())
	if err != nil {
		h.t.Fatalf("LoadCatalog: %v", err)
	}
	return c
}

func (h *harness) replace(c *catalog.Catalog, ops ...storage.LeaseOp) {
	h.t.Helper()
	if err := h.s.ReplaceCatalog(h.t.Context(), c, ops); err != nil {
		h.t.Fatalf("ReplaceCatalog: %v", err)
	}
}

// machines returns the stored inventory, and checks that WalkMachines
// walks exactly what Machines returns, in the same order.
func (h *harness) machines() []inventory.Machine {
	h.t.Helper()
	ms, err := h.s.Machines(h.t.Context())
	if err != nil {
		h.t.Fatalf("Machines: %v", err)
	}
	var walked []inventory.Machine
	if err := h.s.WalkMachines(h.t.Context(), func(m inventory.Machine) error {
		walked = append(walked, m)
		return nil
	}); err != nil {
		h.t.Fatalf("WalkMachines: %v", err)
	}
	if !reflect.DeepEqual(walked, ms) {
		h.t.Errorf("WalkMachines walked\n %s\nMachines returned\n %s", show(walked), show(ms))
	}
	return ms
}

// leaseOf returns mac's lease in pool from a lease list.
func leaseOf(ls []ipam.Lease, pool, mac string) (ipam.Lease, bool) {
	for _, l := range ls {
		if l.Pool == pool && l.MAC == mac {
			return l, true
		}
	}
	return ipam.Lease{}, false
}
