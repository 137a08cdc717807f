package bolt

import (
	"net/netip"
	"testing"

	"github.com/provisiond/provisiond/ipam"
)

// TestAllocationHintFollowsThePool: the search for the lowest free
// address starts at a stored hint, which must never skip a free address:
// not after a release, nor when the pool's start moves down or a
// reservation is lifted.
func TestAllocationHintFollowsThePool(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	defer s.Close()
	pool := func(start string, reserved ...string) *ipam.Pool {
		p := &ipam.Pool{Name: "p", CIDR: "10.9.0.0/24", Start: start, End: "10.9.0.250", Gateway: "10.9.0.1", Reserved: reserved}
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	alloc := func(p *ipam.Pool, i int, want string) {
		t.Helper()
		l, err := s.Allocate(t.Context(), p, crashMAC(i))
		if err != nil {
			t.Fatal(err)
		}
		if l.Address != netip.MustParseAddr(want) {
			t.Fatalf("machine %d got %s, want %s", i, l.Address, want)
		}
	}
	p := pool("10.9.0.10", "10.9.0.12")
	alloc(p, 1, "10.9.0.10")
	alloc(p, 2, "10.9.0.11")
	alloc(p, 3, "10.9.0.13") // .12 is reserved
	if _, err := s.Release(t.Context(), "p", netip.MustParseAddr("10.9.0.11")); err != nil {
		t.Fatal(err)
	}
	alloc(p, 4, "10.9.0.11") // freed below the hint
	alloc(p, 5, "10.9.0.14")
	p = pool("10.9.0.5") // starts lower, .12 no longer reserved
	alloc(p, 6, "10.9.0.5")
	alloc(p, 7, "10.9.0.6")
	for i, want := range []string{"10.9.0.7", "10.9.0.8", "10.9.0.9", "10.9.0.12", "10.9.0.15"} {
		alloc(p, 8+i, want)
	}
}
