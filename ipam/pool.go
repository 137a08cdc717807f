package ipam

import (
	"errors"
	"fmt"
	"github.com/provisiond/provisiond/internal/invalid"
	"net"
	"net/netip"

	"github.com/provisiond/provisiond/internal/strictjson"
)

// ErrExhausted is returned (wrapped) when a pool has no free address left.
var ErrExhausted = errors.New("pool exhausted")

// ErrInvalid is returned (wrapped) for a pool that is not well formed.
var ErrInvalid = errors.New("invalid pool")

// Pool is a range of addresses that provisiond hands out as sticky leases.
// The JSON form is the catalog's pools/<name>.json.
type Pool struct {
	Name     string   `json:"name"`
	CIDR     string   `json:"cidr"`
	Start    string   `json:"start"`
	End      string   `json:"end"`
	Gateway  string   `json:"gateway,omitempty"`
	DNS      []string `json:"dns,omitempty"`
	Reserved []string `json:"reserved,omitempty"`
	// RegisteredOnly limits the pool to registered machines (the catalog's
	// machines/): a machine that is not registered gets no address from
	// it, and no group that draws from it matches the machine, whatever
	// labels its query claims. For pools whose addresses are trusted,
	// such as the etcd members' of a services group.
	RegisteredOnly bool `json:"registered_only,omitempty"`

	prefix   netip.Prefix
	start    netip.Addr
	end      netip.Addr
	gateway  netip.Addr
	reserved map[netip.Addr]bool
}

// MaxPoolSize bounds how many addresses one pool may span. An IPv6 /64 is
// 2^64 addresses; provisiond walks ranges address by address, so a pool's
// start..end must stay within what can be scanned.
const MaxPoolSize = 1 << 20

// Decode parses and validates a pool from JSON; unknown fields are errors.
func Decode(data []byte) (*Pool, error) {
	var p Pool
	if err := strictjson.Decode(data, &p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate checks the pool and computes its parsed form. It must be called
// (Decode does) before any other method.
func (p *Pool) Validate() error {
	if p.Name == "" {
		return invalid.Field("name", fmt.Errorf("%w: name is required", ErrInvalid))
	}
	fail := func(field, format string, args ...any) error {
		return invalid.Field(field, fmt.Errorf("%w %q: %s: %s", ErrInvalid, p.Name, field, fmt.Sprintf(format, args...)))
	}
	pfx, err := netip.ParsePrefix(p.CIDR)
	if err != nil {
		return fail("cidr", "%v", err)
	}
	if pfx.Masked() != pfx {
		return fail("cidr", "%s has host bits set; did you mean %s?", p.CIDR, pfx.Masked())
	}
	p.prefix = pfx
	if p.start, err = p.inside("start", p.Start); err != nil {
		return err
	}
	if p.end, err = p.inside("end", p.End); err != nil {
		return err
	}
	if p.end.Less(p.start) {
		return fail("end", "%s is before start %s", p.end, p.start)
	}
	if n := span(p.start, p.end); n > MaxPoolSize {
		return fail("end", "range %s-%s spans more than %d addresses", p.start, p.end, MaxPoolSize)
	}
	p.gateway = netip.Addr{}
	if p.Gateway != "" {
		if p.gateway, err = p.inside("gateway", p.Gateway); err != nil {
			return err
		}
	}
	for i, d := range p.DNS {
		if _, err := netip.ParseAddr(d); err != nil {
			return fail(fmt.Sprintf("dns[%d]", i), "%v", err)
		}
	}
	p.reserved = make(map[netip.Addr]bool, len(p.Reserved)+1)
	for i, r := range p.Reserved {
		a, err := p.inside(fmt.Sprintf("reserved[%d]", i), r)
		if err != nil {
			return err
		}
		p.reserved[a] = true
	}
	if p.gateway.IsValid() {
		p.reserved[p.gateway] = true // never lease the gateway
	}
	return nil
}

func (p *Pool) inside(field, s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, invalid.Field(field, fmt.Errorf("%w %q: %s: %v", ErrInvalid, p.Name, field, err))
	}
	if a.Zone() != "" {
		return netip.Addr{}, invalid.Field(field, fmt.Errorf("%w %q: %s: %s has a zone", ErrInvalid, p.Name, field, s))
	}
	if !p.prefix.Contains(a) {
		return netip.Addr{}, invalid.Field(field, fmt.Errorf("%w %q: %s: %s is outside %s", ErrInvalid, p.Name, field, a, p.prefix))
	}
	return a, nil
}

// span returns end-start+1, saturating at MaxPoolSize+1.
func span(start, end netip.Addr) int {
	n := 1
	for a := start; a != end; a = a.Next() {
		n++
		if n > MaxPoolSize {
			return n
		}
	}
	return n
}

// Prefix returns the pool's network.
func (p *Pool) Prefix() netip.Prefix { return p.prefix }

// First returns the first assignable address.
func (p *Pool) First() netip.Addr { return p.start }

// Last returns the last assignable address.
func (p *Pool) Last() netip.Addr { return p.end }

// Size returns the number of addresses in start..end.
func (p *Pool) Size() int { return span(p.start, p.end) }

// InRange reports whether a lies in start..end.
func (p *Pool) InRange(a netip.Addr) bool {
	return !a.Less(p.start) && !p.end.Less(a)
}

// IsReserved reports whether a is reserved (listed, or the gateway).
func (p *Pool) IsReserved(a netip.Addr) bool { return p.reserved[a] }

// Assignable reports whether a may be leased automatically: in range and not
// reserved. Pins are checked by callers, who know them.
func (p *Pool) Assignable(a netip.Addr) bool { return p.InRange(a) && !p.reserved[a] }

// Overlaps reports whether two pools' networks overlap.
func (p *Pool) Overlaps(q *Pool) bool { return p.prefix.Overlaps(q.prefix) }

// Next returns the first assignable address after a in the range, or an
// invalid Addr when a was the last.
func (p *Pool) Next(a netip.Addr) netip.Addr {
	if a = a.Next(); a.IsValid() && a.Less(p.start) {
		a = p.start // a was before the range, or an IPv4 address in an IPv6 pool
	}
	for ; a.IsValid() && !p.end.Less(a); a = a.Next() {
		if !p.reserved[a] {
			return a
		}
	}
	return netip.Addr{}
}

// FirstFree returns the lowest assignable address for which taken is false,
// or ErrExhausted.
func (p *Pool) FirstFree(taken func(netip.Addr) bool) (netip.Addr, error) {
	for a := p.start; a.IsValid() && !p.end.Less(a); a = a.Next() {
		if !p.reserved[a] && !taken(a) {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%w: %q has no free address in %s-%s", ErrExhausted, p.Name, p.start, p.end)
}

// Params are the values a lease renders into templates as .ip.
type Params struct {
	Address string   `json:"address"`
	Prefix  int      `json:"prefix"`
	CIDR    string   `json:"cidr"`
	Netmask string   `json:"netmask"`
	Gateway string   `json:"gateway"`
	DNS     []string `json:"dns"`
	Pool    string   `json:"pool"`
}

// Params returns the template values for address a of this pool.
func (p *Pool) Params(a netip.Addr) Params {
	bits := p.prefix.Bits()
	mask := net.CIDRMask(bits, a.BitLen())
	netmask := net.IP(mask).String() // ffff:ffff:ffff:ffff:: for an IPv6 /64
	gw := ""
	if p.gateway.IsValid() {
		gw = p.gateway.String()
	}
	dns := append([]string(nil), p.DNS...)
	if dns == nil {
		dns = []string{}
	}
	return Params{
		Address: a.String(),
		Prefix:  bits,
		CIDR:    netip.PrefixFrom(a, bits).String(),
		Netmask: netmask,
		Gateway: gw,
		DNS:     dns,
		Pool:    p.Name,
	}
}

// Map returns p as the map templates see, so missingkey=error applies.
func (p Params) Map() map[string]any {
	dns := make([]any, len(p.DNS))
	for i, d := range p.DNS {
		dns[i] = d
	}
	return map[string]any{
		"address": p.Address, "prefix": p.Prefix, "cidr": p.CIDR,
		"netmask": p.Netmask, "gateway": p.Gateway, "dns": dns, "pool": p.Pool,
	}
}
