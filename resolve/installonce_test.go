package resolve

import (
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
)

// states is a fake StateReader that counts its lookups.
type states struct {
	m     map[string]inventory.State
	calls int
}

func (s *states) State(key string) inventory.State { s.calls++; return s.m[key] }

const installOnceDoc = `{
  "profiles": [{"id": "installer", "boot": {"kernel": "/k"}}, {"id": "once", "install_once": true, "boot": {"kernel": "/k"}}],
  "groups": [
    {"id": "install", "profile": "installer", "pool": "svc", "install_once": true, "selector": {"role": "install"}},
    {"id": "by-profile", "profile": "once", "selector": {"role": "profile"}},
    {"id": "always", "profile": "installer", "selector": {"role": "always"}}
  ],
  "pools": [{"name": "svc", "cidr": "10.0.0.0/24", "start": "10.0.0.10", "end": "10.0.0.11", "gateway": "10.0.0.1"}]
}`

// TestInstallOnce: a boot script for an installed machine of an
// install-once group or profile resolves LocalBoot, taking no lease; any
// other state, a config request, a preview-less group without install
// once, or a resolver without States resolves the profile as before.
func TestInstallOnce(t *testing.T) {
	c, err := catalog.DecodeDocument([]byte(installOnceDoc))
	if err != nil {
		t.Fatal(err)
	}
	table := ipam.NewTable(nil)
	snap, _, err := catalog.Compile(c, table, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const mac = "52:54:00:00:00:07"
	cases := []struct {
		name       string
		role       string
		state      inventory.State
		bootScript bool
		noStates   bool
		want       bool
	}{
		{"installed, group install_once", "install", inventory.Installed, true, false, true},
		{"installed, profile install_once", "profile", inventory.Installed, true, false, true},
		{"installed, no install_once", "always", inventory.Installed, true, false, false},
		{"configured", "install", inventory.Configured, true, false, false},
		{"reprovisioning", "install", inventory.Reprovisioning, true, false, false},
		{"failed", "install", inventory.Failed, true, false, false},
		{"never seen", "install", "", true, false, false},
		{"installed, a config request", "install", inventory.Installed, false, false, false},
		{"installed, no States", "install", inventory.Installed, true, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := &states{m: map[string]inventory.State{mac: tc.state}}
			alloc := &allocator{leases: map[string]ipam.Lease{}}
			r := &Resolver{Allocator: alloc, Leases: ipam.NewTable(nil)}
			if !tc.noStates {
				r.States = st
			}
			f, err := ParseQuery("mac=" + mac + "&role=" + tc.role)
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.Resolve(t.Context(), snap, f, Options{BootScript: tc.bootScript})
			if err != nil {
				t.Fatal(err)
			}
			if res.LocalBoot != tc.want {
				t.Fatalf("LocalBoot = %v, want %v", res.LocalBoot, tc.want)
			}
			if tc.want && (alloc.calls != 0 || res.LeaseState != LeaseNone) {
				t.Errorf("a local boot took a lease: %d allocations, state %q", alloc.calls, res.LeaseState)
			}
			if !tc.want && tc.role == "install" && alloc.calls != 1 {
				t.Errorf("the installer took %d leases, want 1", alloc.calls)
			}
			if tc.role == "always" && st.calls != 0 {
				t.Errorf("a group without install_once looked up the state %d times", st.calls)
			}
		})
	}
}
