package catalog

import (
	"fmt"
	"github.com/provisiond/provisiond/groups"
	"net/netip"
	"testing"

	"github.com/provisiond/provisiond/ipam"

	"github.com/provisiond/provisiond/profiles"
)

// TestTrialShapesMatchDataShape: the shapes trialRenders keeps for
// trialLimits are dataShape of profiles.Data and of profiles.BootData
// with the trial token, also when metadata has a boot_token of its own.
func TestTrialShapesMatchDataShape(t *testing.T) {
	for _, md := range []map[string]any{
		nil,
		{"hostname": "node-1", "keys": []any{"a b"}, "n": 3.0},
		{"boot_token": "mine", "x": map[string]any{"y": "z-1"}},
	} {
		in := profiles.Input{Metadata: groups.MetadataOf(md), Selector: groups.SelectorOf(map[string]string{"mac": "52:54:00:00:00:01"}), ServerURL: trialServerURL, BootToken: trialBootToken}
		got := trialShapes(profiles.Data(in))
		if want := dataShape(profiles.Data(in)); got.data != want {
			t.Errorf("metadata %v: data shape %x, want %x", md, got.data, want)
		}
		if want := dataShape(profiles.BootData(in)); got.boot != want {
			t.Errorf("metadata %v: boot shape %x, want %x", md, got.boot, want)
		}
	}
}

// TestGroupShapesAgree: the shapes trialRenders computes from a group
// alone (groupShapes) are those of the data it would build and hash
// (profiles.Data of trialInput), for every way a group's own fields,
// provisiond's keys and a pool's lease meet in that data.
func TestGroupShapesAgree(t *testing.T) {
	files := map[string]string{
		"profiles/p.json": `{"id":"p","boot":{"kernel":"/k"}}`,
		"pools/net.json":  `{"name":"net","cidr":"10.0.0.0/24","start":"10.0.0.10","end":"10.0.0.20","gateway":"10.0.0.1","dns":["10.0.0.2"]}`,
		"pools/b.json":    `{"name":"b","cidr":"10.1.0.0/24","start":"10.1.0.5","end":"10.1.0.9","gateway":"10.1.0.1"}`,
	}
	groupsJSON := []string{
		`{"profile":"p","selector":{"mac":"52:54:00:00:00:01"}}`,
		`{"profile":"p","selector":{"mac":"52:54:00:00:00:02"},"metadata":{"hostname":"node-2","n":3,"f":-0.0,"ok":true,"none":null,"keys":["ssh-ed25519 AAA x@y","b"],"net":{"a":"10.0.0.3/24","l":[{"x":1},"y"]}}}`,
		`{"profile":"p","selector":{"role":"worker","rack":"r-1"},"metadata":{"role":"ignored-by-selector","hostname":"w"}}`,
		`{"profile":"p","selector":{"role":"etcd"},"pool":"net","metadata":{"ip":"shadowed by the pool","request":"x","server":1,"machine":{}}}`,
		`{"profile":"p","selector":{"role":"plain"},"metadata":{"ip":"kept without a pool"}}`,
		`{"profile":"p","selector":{"mac":"52:54:00:00:00:03"},"pool":"net"}`,
		`{"profile":"p","selector":{"mac":"52:54:00:00:00:04"},"pool":"b","metadata":{"boot_token":"mine"}}`,
		`{"profile":"p","selector":{"role":"bt","boot_token":"sel"}}`,
		`{"profile":"p","selector":{"role":"btnull"},"metadata":{"boot_token":null}}`,
		`{"profile":"p","selector":{"uuid":"4c4c4544-0000-1000-8000-000000000001"}}`,
		`{"profile":"p","selector":{"uuid":"4c4c4544-0000-1000-8000-000000000002","mac":"52:54:00:00:00:05","os":"installed"},"metadata":{"mac":"meta"}}`,
		`{"profile":"p","selector":{"role":"ip","ip":"sel"},"pool":"net"}`,
		`{"profile":"p","selector":{"role":"true","request":"q"}}`,
		`{"profile":"p"}`,
	}
	for i, g := range groupsJSON {
		files[fmt.Sprintf("groups/g%02d.json", i)] = g
	}
	c, err := LoadDir(writeDir(t, files))
	if err != nil {
		t.Fatal(err)
	}
	table := ipam.NewTable([]ipam.Lease{{Pool: "net", Address: netip.MustParseAddr("10.0.0.15"), MAC: "52:54:00:00:00:03"}})
	s, _, err := Compile(c, table, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var sh shaper
	// Over every key, and over the keys of templates that read some
	// (provisiond's own among them, and boot_token in one shape and not
	// the other).
	filters := []shapeFilters{
		everyKey,
		{data: keyFilter{"hostname": {}, "request": {}, "ip": {}, "boot_token": {}}, boot: keyFilter{"server": {}, "machine": {}}},
		{data: keyFilter{"keys": {}, "net": {}, "mac": {}}, boot: keyFilter{"boot_token": {}, "role": {}, "request": {}}},
		{data: keyFilter{}, boot: nil},
	}
	for _, f := range filters {
		n := 0
		for _, g := range s.Index.Groups() {
			var plain shaper
			want := plain.trialShapes(profiles.Data(s.trialInput(g, nil)), f)
			if got := s.groupShapes(&sh, g, f); got != want {
				t.Errorf("filters %v, group %s: shapes %x, want those of its data %x", f, g.ID, got, want)
			}
			// Twice: the cached ip and server entries give the same shape.
			if got := s.groupShapes(&sh, g, f); got != want {
				t.Errorf("filters %v, group %s, again: shapes %x, want %x", f, g.ID, got, want)
			}
			n++
		}
		if n != len(groupsJSON) {
			t.Fatalf("compared %d groups, want %d", n, len(groupsJSON))
		}
	}
	// Over every key, the shape is the data's.
	for _, g := range s.Index.Groups() {
		if got, want := s.groupShapes(&sh, g, everyKey), trialShapes(profiles.Data(s.trialInput(g, nil))); got != want {
			t.Errorf("group %s: shapes %x, want %x", g.ID, got, want)
		}
	}
	// And the shapes tell groups apart: the lease moves group g05's
	// address, so its shape is not g00's with a pool's first address.
	a := s.groupShapes(&sh, s.Catalog.Groups["g00"], everyKey)
	b := s.groupShapes(&sh, s.Catalog.Groups["g02"], everyKey)
	if a == b {
		t.Errorf("groups g00 and g02 (different keys) have one shape %x", a)
	}
}
