package catalog

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/provisiond/provisiond/ipam"
)

// TestIPDataIsParamsMap: the fast .ip data is exactly what Params gives.
func TestIPDataIsParamsMap(t *testing.T) {
	c := New()
	for _, p := range []*ipam.Pool{
		{Name: "v4", CIDR: "10.0.0.0/24", Start: "10.0.0.10", End: "10.0.0.20", Gateway: "10.0.0.1", DNS: []string{"10.0.0.1", "1.1.1.1"}},
		{Name: "v6", CIDR: "fd00::/64", Start: "fd00::10", End: "fd00::20"},
	} {
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		c.Pools[p.Name] = p
	}
	s, _, err := Compile(c, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ pool, addr string }{{"v4", "10.0.0.12"}, {"v6", "fd00::13"}} {
		p := c.Pools[tc.pool]
		a := netip.MustParseAddr(tc.addr)
		if got, want := s.IPData(p, a), p.Params(a).Map(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: IPData = %v, want %v", tc.addr, got, want)
		}
	}
}

// TestIPDataIsTheSnapshots: each snapshot keeps its own .ip data (the
// cache dies with the snapshot), a repeated request gets the same map,
// and a pool that is not the snapshot's is answered, not kept.
func TestIPDataIsTheSnapshots(t *testing.T) {
	c := New()
	p := &ipam.Pool{Name: "v4", CIDR: "10.0.0.0/24", Start: "10.0.0.10", End: "10.0.0.20"}
	other := &ipam.Pool{Name: "v4", CIDR: "10.1.0.0/24", Start: "10.1.0.10", End: "10.1.0.20"}
	for _, x := range []*ipam.Pool{p, other} {
		if err := x.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	c.Pools[p.Name] = p
	s1, _, err := Compile(c, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s2, _, err := Compile(c, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr("10.0.0.12")
	first := reflect.ValueOf(s1.IPData(p, a)).Pointer()
	if again := reflect.ValueOf(s1.IPData(p, a)).Pointer(); again != first {
		t.Errorf("a repeated request built the map again")
	}
	if reflect.ValueOf(s2.IPData(p, a)).Pointer() == first {
		t.Errorf("two snapshots share their .ip data")
	}
	b := netip.MustParseAddr("10.1.0.12")
	if got, want := s1.IPData(other, b), other.Params(b).Map(); !reflect.DeepEqual(got, want) {
		t.Errorf("foreign pool: %v, want %v", got, want)
	}
	if len(s1.ip.m) != 1 {
		t.Errorf("the cache holds %d maps, want 1 (the foreign pool's is not kept)", len(s1.ip.m))
	}
}
