package ipam

import (
	"net/netip"
	"testing"
)

// BenchmarkFirstFree measures the worst case of a nearly full /16 pool.
func BenchmarkFirstFree(b *testing.B) {
	p := mustDecode(b, `{"name":"big","cidr":"10.0.0.0/16","start":"10.0.0.10","end":"10.0.255.250","gateway":"10.0.0.1"}`)
	last := netip.MustParseAddr("10.0.255.250")
	taken := func(a netip.Addr) bool { return a != last }
	b.ReportAllocs()
	for b.Loop() {
		if a, err := p.FirstFree(taken); err != nil || a != last {
			b.Fatal(a, err)
		}
	}
}

func BenchmarkTableLookup(b *testing.B) {
	leases := make([]Lease, 0, 100_000)
	for i := range 100_000 {
		leases = append(leases, Lease{Pool: "lan", Address: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), MAC: string(rune(i))})
	}
	tab := NewTable(leases)
	mac := string(rune(50_000))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := tab.Lookup("lan", mac); !ok {
			b.Fatal("not found")
		}
	}
}
