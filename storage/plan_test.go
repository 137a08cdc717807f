package storage_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
	"github.com/provisiond/provisiond/storage"
)

// Machines of the test catalog, by name: mac, labels, pins ("pool=addr").
// w* select the "workers" group, which draws from pool lan; "db" selects
// "default", which has no pool; "bmc" has no mac.
var (
	macW1 = "52:54:00:00:00:01"
	macW2 = "52:54:00:00:00:02"
	macW3 = "52:54:00:00:00:03"
	macW4 = "52:54:00:00:00:04"
	macDB = "52:54:00:00:00:0d"
)

// newCatalog returns a valid catalog: pool lan (10.0.0.10-10.0.0.20,
// gateway 10.0.0.1, 10.0.0.12 reserved), a pooled group for role=worker, a
// catch-all group without pool, and the machines given as
// "name mac [k=v ...] [@pool=addr ...]".
func newCatalog(t testing.TB, machines ...string) *catalog.Catalog {
	t.Helper()
	c := catalog.New()
	p := &ipam.Pool{Name: "lan", CIDR: "10.0.0.0/24", Start: "10.0.0.10", End: "10.0.0.20",
		Gateway: "10.0.0.1", Reserved: []string{"10.0.0.12"}}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Pools[p.Name] = p
	c.Profiles["worker"] = &profiles.Profile{ID: "worker", Boot: profiles.Boot{Kernel: "/assets/vmlinuz", Args: []string{"ip={{.ip.address}}"}}}
	c.Profiles["plain"] = &profiles.Profile{ID: "plain", Boot: profiles.Boot{Kernel: "/assets/vmlinuz"}}
	c.Groups["workers"] = &groups.Group{ID: "workers", Profile: "worker", Selector: groups.SelectorOf(map[string]string{"role": "worker"}), Pool: "lan"}
	c.Groups["default"] = &groups.Group{ID: "default", Profile: "plain", Selector: groups.SelectorOf(map[string]string{})}
	for _, spec := range machines {
		f := strings.Fields(spec)
		m := &catalog.Machine{Name: f[0], Labels: map[string]string{}}
		if f[1] != "-" {
			m.MAC = f[1]
		} else {
			m.UUID = fmt.Sprintf("00000000-0000-0000-0000-%012d", len(c.Machines))
		}
		for _, kv := range f[2:] {
			k, v, _ := strings.Cut(strings.TrimPrefix(kv, "@"), "=")
			if strings.HasPrefix(kv, "@") {
				if m.Leases == nil {
					m.Leases = map[string]string{}
				}
				m.Leases[k] = v
			} else {
				m.Labels[k] = v
			}
		}
		if err := m.Normalize(); err != nil {
			t.Fatal(err)
		}
		c.Machines[m.Name] = m
	}
	return c
}

func compile(t testing.TB, c *catalog.Catalog) *catalog.Snapshot {
	t.Helper()
	snap, _, err := catalog.Compile(c, nil, catalog.Options{})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return snap
}

// opString prints an op as "kind machine mac [pool addr]".
func opString(op storage.LeaseOp) string {
	s := fmt.Sprintf("%s %s %s", op.Kind, op.Machine, op.MAC)
	if op.Pool != nil {
		s += " " + op.Pool.Name
	}
	if op.Address.IsValid() {
		s += " " + op.Address.String()
	}
	return s
}

func TestPlanLeases(t *testing.T) {
	base := []string{
		"w2 " + macW2 + " role=worker",
		"w1 " + macW1 + " role=worker",
		"w3 " + macW3 + " role=worker @lan=10.0.0.15",
		"db " + macDB + " @lan=10.0.0.19", // pinned, in a group without pool
		"bmc - role=worker",               // no mac: no lease
	}
	tests := []struct {
		name string
		old  *catalog.Catalog
		next []string
		want []string
	}{
		{
			name: "first apply",
			old:  nil,
			next: base,
			want: []string{
				"pin db " + macDB + " lan 10.0.0.19",
				"pin w3 " + macW3 + " lan 10.0.0.15",
				"ensure w1 " + macW1 + " lan",
				"ensure w2 " + macW2 + " lan",
			},
		},
		{
			name: "empty old catalog",
			old:  catalog.New(),
			next: base[:2],
			want: []string{"ensure w1 " + macW1 + " lan", "ensure w2 " + macW2 + " lan"},
		},
		{
			name: "machines leave, one renamed, one changes mac",
			old: newCatalog(t, append(base,
				"gone "+macW4+" role=worker",
				"old-name 52:54:00:00:00:aa role=worker",
				"changed 52:54:00:00:00:bb")...),
			next: append(base[:3:3],
				"new-name 52:54:00:00:00:aa role=worker",
				"changed 52:54:00:00:00:cc"),
			want: []string{
				"release changed 52:54:00:00:00:bb",
				"release db " + macDB,
				"release gone " + macW4,
				"pin w3 " + macW3 + " lan 10.0.0.15",
				"ensure new-name 52:54:00:00:00:aa lan",
				"ensure w1 " + macW1 + " lan",
				"ensure w2 " + macW2 + " lan",
			},
		},
		{
			name: "nothing registered",
			old:  newCatalog(t),
			next: nil,
			want: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snap := compile(t, newCatalog(t, tc.next...))
			ops := storage.PlanLeases(tc.old, snap)
			var got []string
			for _, op := range ops {
				got = append(got, opString(op))
				if op.Kind != storage.OpRelease && op.Pool != snap.Catalog.Pools["lan"] {
					t.Errorf("%s: pool is not the next catalog's", opString(op))
				}
				if op.Kind == storage.OpRelease && op.Pool != nil {
					t.Errorf("%s: release with a pool", opString(op))
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("PlanLeases:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tc.want, "\n     "))
			}
		})
	}
}

// A machine whose labels move it into a pooled group is ensured a lease;
// one moved out keeps its lease (leases are sticky) but gets no new op.
func TestPlanLeasesFollowsLabels(t *testing.T) {
	old := newCatalog(t, "a "+macW1, "b "+macW2+" role=worker")
	snap := compile(t, newCatalog(t, "a "+macW1+" role=worker", "b "+macW2))
	ops := storage.PlanLeases(old, snap)
	if len(ops) != 1 || opString(ops[0]) != "ensure a "+macW1+" lan" {
		var got []string
		for _, op := range ops {
			got = append(got, opString(op))
		}
		t.Errorf("PlanLeases = %q, want only the ensure of a", got)
	}
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }
