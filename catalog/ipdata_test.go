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
