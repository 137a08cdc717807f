package dhcp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/resolve"
)

// Allocator gives a machine its sticky lease in a pool: the existing one,
// or a new one that is durable when Allocate returns; ipam.ErrExhausted
// when the pool is full. storage.Store satisfies it.
type Allocator interface {
	Allocate(ctx context.Context, pool *ipam.Pool, mac string) (ipam.Lease, error)
}

// Full is full DHCP mode: the Server also leases addresses, from the
// provisiond pool named Pool. Leases are provisiond's sticky leases, so
// the address a machine gets by DHCP is the one its templates see as .ip.
// Meant for an isolated lab network: on a network with another DHCP
// server, two servers would answer.
type Full struct {
	// Pool names the pool addresses come from.
	Pool string
	// Pools returns the current pool of that name (nil when the catalog
	// has none), so a catalog reload is seen by the next request.
	Pools func(name string) *ipam.Pool
	// Allocator creates and returns leases.
	Allocator Allocator
	// Leases, when set, is the in-memory lease table the boot path reads
	// (*ipam.Table): a machine that has its lease is answered from it
	// without a store transaction, and a new lease is put into it.
	Leases LeaseTable
	// LeaseTime is the DHCP lease duration (default 1h). The address is
	// the machine's for good; the lease time only says when to renew.
	LeaseTime time.Duration
	// Registered reports whether mac (lowercase, colon-separated) is a
	// machine of the catalog's registry (machines/). A pool limited to
	// registered machines (ipam.Pool.RegisteredOnly) offers addresses to
	// those only, as the boot path allocates from it for those only; nil
	// counts no machine as registered.
	Registered func(mac string) bool
}

// LeaseTable is the in-memory mirror of the store's leases.
type LeaseTable interface {
	Lookup(pool, mac string) (ipam.Lease, bool)
	Put(ipam.Lease)
}

func (f *Full) check() error {
	if f.Pools == nil || f.Allocator == nil {
		return errors.New("dhcp: full mode needs Pools and Allocator")
	}
	p := f.Pools(f.Pool)
	if p == nil {
		return fmt.Errorf("dhcp: pool %q does not exist", f.Pool)
	}
	if !p.Prefix().Addr().Is4() {
		return fmt.Errorf("dhcp: pool %q is not IPv4", f.Pool)
	}
	return nil
}

func (f *Full) leaseTime() time.Duration {
	if f.LeaseTime <= 0 {
		return time.Hour
	}
	return f.LeaseTime
}

// handleFull is port 67 in full mode: DISCOVER -> OFFER of the machine's
// lease, REQUEST -> ACK (or NAK for another address), INFORM -> ACK
// without an address. PXE clients also get their boot answer; other
// clients get an address only.
func (s *Server) handleFull(ctx context.Context, req *dhcpv4.DHCPv4, c client, log *slog.Logger) (*dhcpv4.DHCPv4, string, error) {
	f := s.Full
	mt := req.MessageType()
	switch mt {
	case dhcpv4.MessageTypeDiscover, dhcpv4.MessageTypeRequest, dhcpv4.MessageTypeInform:
	default:
		// RELEASE and DECLINE: the lease is sticky and stays the
		// machine's; a DECLINE (address in use) is for an operator.
		if mt == dhcpv4.MessageTypeDecline {
			log.Warn("dhcp: client declined its address (in use by someone else?)", "requested", req.RequestedIPAddress())
		}
		s.Metrics.ignored("message_type")
		return nil, "", nil
	}
	if c.mac == "" {
		s.Metrics.ignored("no_mac")
		return nil, "", nil
	}
	if mt == dhcpv4.MessageTypeRequest {
		if sid := req.ServerIdentifier(); sid != nil && !sid.Equal(net.IP(s.ServerIP.AsSlice())) {
			// The client chose another server's offer.
			s.Metrics.ignored("other_server")
			return nil, "", nil
		}
	}
	pool := f.Pools(f.Pool)
	if pool == nil {
		return nil, "", fmt.Errorf("pool %q is gone from the catalog", f.Pool)
	}
	if pool.RegisteredOnly && (f.Registered == nil || !f.Registered(c.mac)) {
		// No offer, no ACK, no INFORM answer: the pool's addresses are
		// for registered machines, and an unanswered client tries
		// another server or gives up.
		s.Metrics.ignored("not_registered")
		log.Info("dhcp: no answer: the pool is limited to registered machines, and this mac is not registered (machines/)", "pool", f.Pool)
		return nil, "", nil
	}

	var mods []dhcpv4.Modifier
	event := "dhcp:ack"
	if mt == dhcpv4.MessageTypeInform {
		mods = append(mods, dhcpv4.WithClientIP(req.ClientIPAddr))
	} else {
		l, err := f.lease(ctx, pool, c.mac)
		if err != nil {
			return nil, "", fmt.Errorf("lease in pool %q: %w", f.Pool, err)
		}
		s.seen.put(l.Address, c.mac)
		if mt == dhcpv4.MessageTypeRequest {
			want := req.RequestedIPAddress()
			if want == nil || want.IsUnspecified() {
				want = req.ClientIPAddr
			}
			if w, ok := netip.AddrFromSlice(want.To4()); !ok || w != l.Address {
				log.Info("dhcp: nak: the machine's address is another", "requested", want, "lease", l.Address)
				resp, err := s.reply(req, dhcpv4.MessageTypeNak)
				return resp, "dhcp:nak", err
			}
		} else {
			event = "dhcp:offer"
		}
		mods = append(mods, dhcpv4.WithYourIP(net.IP(l.Address.AsSlice())),
			dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(f.leaseTime())))
	}
	mods = append(mods, networkOptions(pool)...)
	a, reason := s.boot(c)
	if reason == "" {
		mods = append(mods, s.withBoot(req, a))
		s.Metrics.boot(a.kind)
	}
	rt := dhcpv4.MessageTypeAck
	if mt == dhcpv4.MessageTypeDiscover {
		rt = dhcpv4.MessageTypeOffer
	}
	resp, err := s.reply(req, rt, mods...)
	if err != nil {
		return nil, "", err
	}
	log.Info("dhcp: "+rt.String(), "address", resp.YourIPAddr, "boot", a.file)
	return resp, event, nil
}

// lease returns mac's lease through resolve's lease step, the boot
// path's own: from the table when it has one (no store round trip for a
// machine that asks again), else from the Allocator.
func (f *Full) lease(ctx context.Context, pool *ipam.Pool, mac string) (ipam.Lease, error) {
	r := resolve.Resolver{Allocator: f.Allocator, Leases: f.Leases}
	// mac is net.HardwareAddr's String: the lowercase colon form that
	// groups.MAC holds.
	l, _, err := r.Lease(ctx, pool, groups.MAC(mac), resolve.Options{})
	return l, err
}

// networkOptions are the pool's netmask, gateway and DNS servers.
func networkOptions(p *ipam.Pool) []dhcpv4.Modifier {
	pfx := p.Prefix()
	mods := []dhcpv4.Modifier{dhcpv4.WithNetmask(net.CIDRMask(pfx.Bits(), 32))}
	params := p.Params(p.First())
	if params.Gateway != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptRouter(net.ParseIP(params.Gateway))))
	}
	var dns []net.IP
	for _, d := range params.DNS {
		if ip := net.ParseIP(d); ip != nil && ip.To4() != nil {
			dns = append(dns, ip)
		}
	}
	if len(dns) > 0 {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptDNS(dns...)))
	}
	return mods
}
