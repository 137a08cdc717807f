package dhcp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
)

// These tests run the server on loopback ports and talk to it with
// nclient4, the DHCP client of the same library, in unicast mode.

var testServerIP = netip.MustParseAddr("192.0.2.1")

const testBootURL = "http://192.0.2.1:8080"

// recorder is a fake inventory.
type recorder struct {
	mu     sync.Mutex
	events map[string][]string
}

func (r *recorder) Record(mac, uuid string, e inventory.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.events == nil {
		r.events = map[string][]string{}
	}
	r.events[mac] = append(r.events[mac], e.Endpoint)
}

func (r *recorder) get(mac string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events[mac]...)
}

// start runs s on loopback and returns its DHCP and PXE addresses.
func start(t *testing.T, s *Server) (*net.UDPAddr, *net.UDPAddr) {
	t.Helper()
	s.Addr, s.PXEAddr = "127.0.0.1:0", "127.0.0.1:0"
	if !s.ServerIP.IsValid() {
		s.ServerIP = testServerIP
	}
	if s.BootURL == "" {
		s.BootURL = testBootURL
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	a := s.Addrs()
	return a[0].(*net.UDPAddr), a[1].(*net.UDPAddr)
}

// newClient returns an nclient4 client with hardware address mac that sends
// to server from a loopback port.
func newClient(t *testing.T, server *net.UDPAddr, mac string, timeout time.Duration) *nclient4.Client {
	t.Helper()
	hw, _ := net.ParseMAC(mac)
	c, err := nclient4.New("",
		nclient4.WithUnicast(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}),
		nclient4.WithServerAddr(server), nclient4.WithHWAddr(hw),
		nclient4.WithTimeout(timeout), nclient4.WithRetry(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The option sets real clients send.
func pxeClient(vendor string, arch iana.Arch) []dhcpv4.Modifier {
	return []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier(vendor)),
		dhcpv4.WithOption(dhcpv4.OptClientArch(arch)),
		dhcpv4.WithGeneric(dhcpv4.OptionClientMachineIdentifier, append([]byte{0}, make([]byte, 16)...)),
	}
}

var (
	biosPXE  = pxeClient("PXEClient:Arch:00000:UNDI:002001", iana.INTEL_X86PC)
	uefiPXE  = pxeClient("PXEClient:Arch:00007:UNDI:003016", iana.EFI_X86_64)
	arm64PXE = pxeClient("PXEClient:Arch:00011:UNDI:003000", iana.EFI_ARM64)
	efi32PXE = pxeClient("PXEClient:Arch:00006:UNDI:003000", iana.EFI_IA32)
	uefiHTTP = pxeClient("HTTPClient:Arch:00016:UNDI:003000", iana.EFI_X86_64_HTTP)
	ipxe     = append(pxeClient("PXEClient:Arch:00000:UNDI:002001", iana.INTEL_X86PC),
		dhcpv4.WithUserClass("iPXE", false),
		dhcpv4.WithGeneric(dhcpv4.GenericOptionCode(optionIPXEEncap), []byte{0xb1, 1, 1}))
	ipxe175Only = append(pxeClient("PXEClient:Arch:00007:UNDI:003010", iana.EFI_X86_64),
		dhcpv4.WithGeneric(dhcpv4.GenericOptionCode(optionIPXEEncap), []byte{0x10, 1, 1}))
	notPXE = []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptClassIdentifier("MSFT 5.0"))}
)

func TestProxyOffers(t *testing.T) {
	rec := &recorder{}
	reg := prometheus.NewRegistry()
	s := &Server{Recorder: rec, Metrics: NewMetrics(reg)}
	dhcpAddr, _ := start(t, s)

	tests := []struct {
		name    string
		mods    []dhcpv4.Modifier
		file    string // "" = no answer
		vendor  string
		siaddr  bool
		pxeOpts bool
	}{
		{"BIOS PXE", biosPXE, "undionly.kpxe", "PXEClient", true, true},
		{"UEFI x86-64 PXE", uefiPXE, "ipxe.efi", "PXEClient", true, false},
		{"UEFI arm64 PXE", arm64PXE, "snp.efi", "PXEClient", true, false},
		{"iPXE", ipxe, testBootURL + "/boot.ipxe", "PXEClient", true, true},
		{"iPXE by option 175 alone", ipxe175Only, testBootURL + "/boot.ipxe", "PXEClient", true, true},
		{"UEFI HTTP boot", uefiHTTP, testBootURL + "/netboot/ipxe.efi", "HTTPClient", true, false},
		{"not a PXE client", notPXE, "", "", false, false},
		{"no vendor class at all", nil, "", "", false, false},
		{"x86 UEFI with no file mapped", efi32PXE, "", "", false, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mac := net.HardwareAddr{0x52, 0x54, 0, 0, 0, byte(i + 1)}.String()
			timeout := 2 * time.Second
			if tc.file == "" {
				timeout = 300 * time.Millisecond
			}
			offer, err := newClient(t, dhcpAddr, mac, timeout).DiscoverOffer(t.Context(), tc.mods...)
			if tc.file == "" {
				if err == nil {
					t.Fatalf("got an answer, want none:\n%s", offer.Summary())
				}
				if ev := rec.get(mac); len(ev) != 0 {
					t.Errorf("recorded %v for an unanswered client", ev)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkBoot(t, offer, tc.file, tc.vendor, tc.pxeOpts)
			if !offer.YourIPAddr.IsUnspecified() {
				t.Errorf("proxy offer gives address %s", offer.YourIPAddr)
			}
			if ev := rec.get(mac); len(ev) != 1 || ev[0] != "dhcp:offer" {
				t.Errorf("inventory events %v, want [dhcp:offer]", ev)
			}
		})
	}
	if got := testutil.ToFloat64(s.Metrics.boots.WithLabelValues("bios")); got != 1 {
		t.Errorf("boot_answers_total{client=bios} = %v", got)
	}
	if got := testutil.ToFloat64(s.Metrics.unanswered.WithLabelValues(reasonNotPXE)); got < 2 {
		t.Errorf("ignored_total{reason=not_pxe} = %v, want >= 2", got)
	}
	if got := testutil.ToFloat64(s.Metrics.unanswered.WithLabelValues(reasonUnmapped)); got < 1 {
		t.Errorf("ignored_total{reason=unmapped_arch} = %v", got)
	}
}

// checkBoot checks the boot part of a reply.
func checkBoot(t *testing.T, r *dhcpv4.DHCPv4, file, vendor string, pxeOpts bool) {
	t.Helper()
	if r.BootFileName != file || r.BootFileNameOption() != file {
		t.Errorf("file %q, option 67 %q, want %q", r.BootFileName, r.BootFileNameOption(), file)
	}
	if got := r.ClassIdentifier(); got != vendor {
		t.Errorf("option 60 %q, want %q", got, vendor)
	}
	if !r.ServerIPAddr.Equal(net.IP(testServerIP.AsSlice())) || !r.ServerIdentifier().Equal(net.IP(testServerIP.AsSlice())) {
		t.Errorf("next-server %s, server id %s, want %s", r.ServerIPAddr, r.ServerIdentifier(), testServerIP)
	}
	if has := r.Options.Has(dhcpv4.OptionVendorSpecificInformation); has != pxeOpts {
		t.Errorf("option 43 present %v, want %v", has, pxeOpts)
	}
	if r.Options.Get(dhcpv4.OptionClientMachineIdentifier) == nil {
		t.Errorf("option 97 not echoed")
	}
}

// pxeRequest is what firmware sends to the boot server on port 4011 once
// it has an address.
func pxeRequest(t *testing.T, mac string, ip net.IP, mods []dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	hw, _ := net.ParseMAC(mac)
	req, err := dhcpv4.New(append([]dhcpv4.Modifier{
		dhcpv4.WithHwAddr(hw), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest), dhcpv4.WithClientIP(ip),
	}, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestBootServerPort(t *testing.T) {
	rec := &recorder{}
	s := &Server{Recorder: rec}
	dhcpAddr, pxeAddr := start(t, s)
	mac := "52:54:00:00:01:01"
	ip := net.IPv4(10, 9, 8, 7)
	c := newClient(t, dhcpAddr, mac, 2*time.Second)

	ack, err := c.SendAndRead(t.Context(), pxeAddr, pxeRequest(t, mac, ip, uefiPXE), nclient4.IsMessageType(dhcpv4.MessageTypeAck))
	if err != nil {
		t.Fatal(err)
	}
	checkBoot(t, ack, "ipxe.efi", "PXEClient", false)
	if !ack.ClientIPAddr.Equal(ip) || !ack.YourIPAddr.IsUnspecified() {
		t.Errorf("ciaddr %s yiaddr %s, want %s and none", ack.ClientIPAddr, ack.YourIPAddr, ip)
	}
	if got, ok := s.MACFor(netip.AddrFrom4([4]byte{10, 9, 8, 7})); !ok || got != mac {
		t.Errorf("MACFor = %q, %v; want %s", got, ok, mac)
	}
	if ev := rec.get(mac); len(ev) != 1 || ev[0] != "dhcp:ack" {
		t.Errorf("inventory events %v", ev)
	}

	// Nothing for a non-PXE client, nor for a DISCOVER on 4011.
	quiet := newClient(t, dhcpAddr, mac, 300*time.Millisecond)
	if r, err := quiet.SendAndRead(t.Context(), pxeAddr, pxeRequest(t, mac, ip, notPXE), nil); err == nil {
		t.Errorf("non-PXE request on 4011 answered:\n%s", r.Summary())
	}
	disc, _ := dhcpv4.NewDiscovery(ack.ClientHWAddr, biosPXE...)
	if r, err := quiet.SendAndRead(t.Context(), pxeAddr, disc, nil); err == nil {
		t.Errorf("DISCOVER on 4011 answered:\n%s", r.Summary())
	}
	// proxy mode: a REQUEST on 67 is the site DHCP server's.
	if r, err := quiet.SendAndRead(t.Context(), dhcpAddr, pxeRequest(t, mac, ip, biosPXE), nil); err == nil {
		t.Errorf("proxy mode answered a REQUEST on port 67:\n%s", r.Summary())
	}
}

// allocator is a fake store: sticky leases, lowest free address first.
type allocator struct {
	mu     sync.Mutex
	leases map[string]netip.Addr
	fail   error
}

func (a *allocator) Allocate(ctx context.Context, p *ipam.Pool, mac string) (ipam.Lease, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail != nil {
		return ipam.Lease{}, a.fail
	}
	if a.leases == nil {
		a.leases = map[string]netip.Addr{}
	}
	if addr, ok := a.leases[mac]; ok {
		return ipam.Lease{Pool: p.Name, Address: addr, MAC: mac}, nil
	}
	taken := map[netip.Addr]bool{}
	for _, addr := range a.leases {
		taken[addr] = true
	}
	addr, err := p.FirstFree(func(x netip.Addr) bool { return taken[x] })
	if err != nil {
		return ipam.Lease{}, err
	}
	a.leases[mac] = addr
	return ipam.Lease{Pool: p.Name, Address: addr, MAC: mac}, nil
}

func testPool(t testing.TB) *ipam.Pool {
	t.Helper()
	p, err := ipam.Decode([]byte(`{"name": "lab", "cidr": "192.0.2.0/24", "start": "192.0.2.100", "end": "192.0.2.101",
		"gateway": "192.0.2.1", "dns": ["192.0.2.53"]}`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func fullServer(t testing.TB, alloc Allocator, table *ipam.Table, rec Recorder) *Server {
	pool := testPool(t)
	var leases LeaseTable
	if table != nil {
		leases = table
	}
	return &Server{Recorder: rec, Full: &Full{
		Pool: "lab", Allocator: alloc, Leases: leases, LeaseTime: 10 * time.Minute,
		Pools: func(name string) *ipam.Pool {
			if name == "lab" {
				return pool
			}
			return nil
		},
	}}
}

func TestFullDHCP(t *testing.T) {
	rec := &recorder{}
	table := ipam.NewTable(nil)
	alloc := &allocator{}
	s := fullServer(t, alloc, table, rec)
	dhcpAddr, _ := start(t, s)

	check := func(t *testing.T, ack *dhcpv4.DHCPv4, want string) {
		t.Helper()
		if ack.YourIPAddr.String() != want {
			t.Errorf("address %s, want %s", ack.YourIPAddr, want)
		}
		if ack.SubnetMask().String() != "ffffff00" || len(ack.Router()) != 1 || ack.Router()[0].String() != "192.0.2.1" ||
			len(ack.DNS()) != 1 || ack.DNS()[0].String() != "192.0.2.53" || ack.IPAddressLeaseTime(0) != 10*time.Minute {
			t.Errorf("network options: mask %s router %v dns %v lease %s", ack.SubnetMask(), ack.Router(), ack.DNS(), ack.IPAddressLeaseTime(0))
		}
	}

	t.Run("PXE client gets its lease and its boot file", func(t *testing.T) {
		mac := "52:54:00:00:02:01"
		lease, err := newClient(t, dhcpAddr, mac, 2*time.Second).Request(t.Context(), biosPXE...)
		if err != nil {
			t.Fatal(err)
		}
		check(t, lease.Offer, "192.0.2.100")
		check(t, lease.ACK, "192.0.2.100")
		checkBoot(t, lease.ACK, "undionly.kpxe", "PXEClient", true)
		if l, ok := table.Lookup("lab", mac); !ok || l.Address.String() != "192.0.2.100" {
			t.Errorf("lease table: %+v %v", l, ok)
		}
		if ev := rec.get(mac); len(ev) != 2 || ev[0] != "dhcp:offer" || ev[1] != "dhcp:ack" {
			t.Errorf("inventory events %v", ev)
		}
		// The same machine again, as iPXE: the same address, and /boot.ipxe.
		lease, err = newClient(t, dhcpAddr, mac, 2*time.Second).Request(t.Context(), ipxe...)
		if err != nil {
			t.Fatal(err)
		}
		check(t, lease.ACK, "192.0.2.100")
		checkBoot(t, lease.ACK, testBootURL+"/boot.ipxe", "PXEClient", true)
	})
	t.Run("other client gets an address and no boot file", func(t *testing.T) {
		lease, err := newClient(t, dhcpAddr, "52:54:00:00:02:02", 2*time.Second).Request(t.Context(), notPXE...)
		if err != nil {
			t.Fatal(err)
		}
		check(t, lease.ACK, "192.0.2.101")
		if lease.ACK.BootFileName != "" || lease.ACK.ClassIdentifier() != "" {
			t.Errorf("non-PXE client got boot information: %q %q", lease.ACK.BootFileName, lease.ACK.ClassIdentifier())
		}
	})
	t.Run("request for another address is refused", func(t *testing.T) {
		c := newClient(t, dhcpAddr, "52:54:00:00:02:01", 2*time.Second)
		offer, err := c.DiscoverOffer(t.Context(), uefiPXE...)
		if err != nil {
			t.Fatal(err)
		}
		offer.YourIPAddr = net.IPv4(192, 0, 2, 101)
		_, err = c.RequestFromOffer(t.Context(), offer, uefiPXE...)
		var nak *nclient4.ErrNak
		if !errors.As(err, &nak) {
			t.Fatalf("err %v, want a NAK", err)
		}
	})
	t.Run("request to another server is not answered", func(t *testing.T) {
		c := newClient(t, dhcpAddr, "52:54:00:00:02:01", 300*time.Millisecond)
		req := pxeRequest(t, "52:54:00:00:02:01", net.IPv4zero, []dhcpv4.Modifier{
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(192, 0, 2, 9))),
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(192, 0, 2, 100))),
		})
		if r, err := c.SendAndRead(t.Context(), dhcpAddr, req, nil); err == nil {
			t.Errorf("answered:\n%s", r.Summary())
		}
	})
	t.Run("known machine is answered from the lease table", func(t *testing.T) {
		alloc.mu.Lock()
		alloc.fail = errors.New("store unavailable")
		alloc.mu.Unlock()
		defer func() { alloc.mu.Lock(); alloc.fail = nil; alloc.mu.Unlock() }()
		lease, err := newClient(t, dhcpAddr, "52:54:00:00:02:01", 2*time.Second).Request(t.Context(), biosPXE...)
		if err != nil {
			t.Fatal(err)
		}
		check(t, lease.ACK, "192.0.2.100")
		if _, err := newClient(t, dhcpAddr, "52:54:00:00:02:09", 300*time.Millisecond).DiscoverOffer(t.Context(), biosPXE...); err == nil {
			t.Error("a new machine was answered while the store fails")
		}
	})
	t.Run("exhausted pool: no answer", func(t *testing.T) {
		_, err := newClient(t, dhcpAddr, "52:54:00:00:02:03", 300*time.Millisecond).DiscoverOffer(t.Context(), biosPXE...)
		if err == nil {
			t.Fatal("answered from an exhausted pool")
		}
	})
}

func TestStartRefuses(t *testing.T) {
	tests := []struct {
		name string
		s    *Server
	}{
		{"no server IP", &Server{BootURL: testBootURL}},
		{"IPv6 server IP", &Server{ServerIP: netip.MustParseAddr("2001:db8::1"), BootURL: testBootURL}},
		{"no boot URL", &Server{ServerIP: testServerIP}},
		{"full mode, missing pool", &Server{ServerIP: testServerIP, BootURL: testBootURL,
			Full: &Full{Pool: "nope", Allocator: &allocator{}, Pools: func(string) *ipam.Pool { return nil }}}},
		{"full mode, no allocator", &Server{ServerIP: testServerIP, BootURL: testBootURL, Full: &Full{Pool: "lab"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Addr, tc.s.PXEAddr = "127.0.0.1:0", "127.0.0.1:0"
			if err := tc.s.Start(); err == nil {
				tc.s.Close()
				t.Fatal("started")
			}
		})
	}
}

// TestFullDHCPRegisteredOnly: from a pool limited to registered machines,
// full mode offers an address to a registered mac only; an unregistered
// one gets no answer, no lease is allocated for it, and the refusal is
// counted.
func TestFullDHCPRegisteredOnly(t *testing.T) {
	pool, err := ipam.Decode([]byte(`{"name": "lab", "cidr": "192.0.2.0/24", "start": "192.0.2.100", "end": "192.0.2.110",
		"gateway": "192.0.2.1", "registered_only": true}`))
	if err != nil {
		t.Fatal(err)
	}
	const known, stranger = "52:54:00:00:03:01", "52:54:00:00:03:66"
	table := ipam.NewTable(nil)
	alloc := &allocator{}
	reg := prometheus.NewRegistry()
	s := &Server{Recorder: &recorder{}, Metrics: NewMetrics(reg), Full: &Full{
		Pool: "lab", Allocator: alloc, Leases: table,
		Pools:      func(string) *ipam.Pool { return pool },
		Registered: func(mac string) bool { return mac == known },
	}}
	dhcpAddr, _ := start(t, s)

	if _, err := newClient(t, dhcpAddr, stranger, 500*time.Millisecond).DiscoverOffer(t.Context(), biosPXE...); err == nil {
		t.Error("an unregistered mac was offered an address of a registered-only pool")
	}
	if _, ok := table.Lookup("lab", stranger); ok {
		t.Error("the unregistered mac got a lease")
	}
	alloc.mu.Lock()
	_, allocated := alloc.leases[stranger]
	alloc.mu.Unlock()
	if allocated {
		t.Error("an address was allocated for the unregistered mac")
	}
	if n := testutil.ToFloat64(s.Metrics.unanswered.WithLabelValues("not_registered")); n < 1 {
		t.Errorf("not_registered refusals counted: %v", n)
	}

	lease, err := newClient(t, dhcpAddr, known, 2*time.Second).Request(t.Context(), biosPXE...)
	if err != nil {
		t.Fatalf("registered mac: %v", err)
	}
	if got := lease.ACK.YourIPAddr.String(); got != "192.0.2.100" {
		t.Errorf("registered mac got %s, want 192.0.2.100", got)
	}
	if l, ok := table.Lookup("lab", known); !ok || l.Address.String() != "192.0.2.100" {
		t.Errorf("lease table: %+v %v", l, ok)
	}
}
