package catalog_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/internal/catalogen"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
)

// TestButaneFastPathCatalogs is the differential test of the Butane fast
// path (profiles.FastIgnition) on real catalogs: every example catalog
// and both bootstorm shapes, each Butane template with the data of each
// group (several machines per group, each with its own mac and lease) and
// of each registered machine. One snapshot answers with the fast path
// off, a second one (its own render cache) with it on: the bytes, the
// warnings and the errors must be the same. The fast path must also have
// answered for the bootstorm shapes, or the test would prove nothing.
func TestButaneFastPathCatalogs(t *testing.T) {
	type source struct {
		name string
		load func() (*catalog.Catalog, error)
		// fast says the fast path must answer some of its requests.
		fast bool
	}
	sources := []source{
		{"bootstorm-pooled", func() (*catalog.Catalog, error) { return catalogen.New(300) }, true},
		{"bootstorm-matchbox", func() (*catalog.Catalog, error) { return catalogen.NewMatchbox(300) }, true},
	}
	dirs, err := filepath.Glob("../examples/*/groups")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no example catalogs: %v", err)
	}
	for _, d := range dirs {
		dir := filepath.Dir(d)
		sources = append(sources, source{"examples/" + filepath.Base(dir), func() (*catalog.Catalog, error) { return catalog.LoadDir(dir) }, false})
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			c, err := src.load()
			if err != nil {
				t.Fatal(err)
			}
			slow, _, err := catalog.Compile(c, ipam.NewTable(nil), catalog.Options{})
			if err != nil {
				t.Fatal(err)
			}
			fast, _, err := catalog.Compile(c, ipam.NewTable(nil), catalog.Options{})
			if err != nil {
				t.Fatal(err)
			}
			before := profiles.FastIgnitionHits()
			n := 0
			for _, q := range fastQueries(c) {
				m, err := fast.Resolve(q)
				if err != nil {
					continue
				}
				if _, err := catalog.TemplateName(m.Profile, profiles.KindIgnition); err != nil {
					continue
				}
				ms, err := slow.Resolve(q)
				if err != nil {
					t.Fatalf("%v: fast snapshot resolves, slow one: %v", q, err)
				}
				var ip map[string]any
				if p := fast.Pool(m); p != nil {
					a := p.First()
					for range n % 50 {
						a = p.Next(a)
					}
					ip = p.Params(a).Map()
				}
				n++
				was := profiles.SetFastIgnition(false)
				wantOut, wantWs, wantErr := slow.Config(profiles.KindIgnition, ms, slow.Input(ms, "mac="+q["mac"], "http://10.0.0.1:8080", ip))
				profiles.SetFastIgnition(true)
				gotOut, gotWs, gotErr := fast.Config(profiles.KindIgnition, m, fast.Input(m, "mac="+q["mac"], "http://10.0.0.1:8080", ip))
				profiles.SetFastIgnition(was)
				if !bytes.Equal(gotOut, wantOut) {
					t.Fatalf("%v: fast path served\n%s\nslow path\n%s", q, gotOut, wantOut)
				}
				if !slices.Equal(gotWs, wantWs) {
					t.Fatalf("%v: warnings %q, slow path %q", q, gotWs, wantWs)
				}
				if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
					t.Fatalf("%v: error %v, slow path %v", q, gotErr, wantErr)
				}
			}
			hits := profiles.FastIgnitionHits() - before
			t.Logf("%d requests, %d answered by the fast path", n, hits)
			butane := 0
			for name := range c.Templates[profiles.KindIgnition] {
				if !profiles.IsRawIgnition(name) {
					butane++
				}
			}
			if n == 0 && butane > 0 {
				t.Fatal("no request rendered Ignition")
			}
			if src.fast && hits == 0 {
				t.Fatal("the fast path answered none of the storm shape's requests")
			}
		})
	}
}

// fastQueries returns a request's labels for each registered machine and
// for several machines of each group.
func fastQueries(c *catalog.Catalog) []groups.Labels {
	var qs []groups.Labels
	for _, name := range sortedKeys(c.Machines) {
		m := c.Machines[name]
		if m.MAC != "" {
			qs = append(qs, groups.Labels{"mac": m.MAC, "arch": "x86_64"})
		}
	}
	for gi, id := range sortedKeys(c.Groups) {
		g := c.Groups[id]
		for i := range 4 {
			q := groups.Labels{"arch": "x86_64"}
			for k, v := range g.Selector.Map() {
				q[k] = v
			}
			if _, ok := q["mac"]; !ok {
				a := netip.AddrFrom4([4]byte{byte(gi >> 8), byte(gi), 0, byte(i)}).As4()
				q["mac"] = fmt.Sprintf("52:56:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3])
			} else if i > 0 {
				break
			}
			qs = append(qs, q)
		}
	}
	return qs
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
