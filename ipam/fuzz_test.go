package ipam

import (
	"errors"
	"net/netip"
	"testing"
)

func FuzzDecodePool(f *testing.F) {
	f.Add([]byte(lanJSON))
	f.Add([]byte(v6JSON))
	f.Add([]byte(`{"name":"top","cidr":"255.255.255.248/29","start":"255.255.255.250","end":"255.255.255.255","gateway":"255.255.255.255"}`))
	f.Add([]byte(`{"name":"one","cidr":"::/0","start":"::","end":"::"}`))
	for _, tt := range decodeErrorTests {
		f.Add([]byte(tt.json))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode(%q): %v does not wrap ErrInvalid", data, err)
			}
			return
		}
		first, last := p.First(), p.Last()
		if last.Less(first) {
			t.Fatalf("First %s > Last %s", first, last)
		}
		if !p.Prefix().Contains(first) || !p.Prefix().Contains(last) {
			t.Fatalf("First %s or Last %s outside %s", first, last, p.Prefix())
		}
		if n := p.Size(); n < 1 || n > MaxPoolSize {
			t.Fatalf("Size = %d", n)
		}
		if !p.InRange(first) || !p.InRange(last) {
			t.Fatalf("First %s or Last %s not InRange", first, last)
		}
		// The lowest free address is assignable, or every address is reserved.
		a, err := p.FirstFree(func(netip.Addr) bool { return false })
		switch {
		case err == nil:
			if !p.Assignable(a) {
				t.Fatalf("FirstFree = %s, not assignable", a)
			}
			if prev := first.Prev(); prev.IsValid() && p.Next(prev) != a {
				t.Fatalf("Next(First-1) = %s, FirstFree = %s", p.Next(prev), a)
			}
			pa := p.Params(a)
			cidr, err := netip.ParsePrefix(pa.CIDR)
			if err != nil || cidr.Addr() != a || cidr.Bits() != p.Prefix().Bits() || pa.Prefix != p.Prefix().Bits() {
				t.Fatalf("Params(%s) = %+v", a, pa)
			}
			if _, err := netip.ParseAddr(pa.Netmask); err != nil {
				t.Fatalf("Params(%s).Netmask = %q: %v", a, pa.Netmask, err)
			}
		case errors.Is(err, ErrExhausted):
			if len(p.Reserved) == 0 && p.Gateway == "" {
				t.Fatalf("FirstFree exhausted a pool with nothing reserved: %v", err)
			}
		default:
			t.Fatalf("FirstFree: %v", err)
		}
	})
}
