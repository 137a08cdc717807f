package dhcp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"

	"github.com/provisiond/provisiond/inventory"
)

// Recorder takes boot events for the machine inventory. Record must not
// block on storage.
type Recorder interface {
	Record(mac, uuid string, e inventory.Event)
}

// Server is a proxyDHCP (and optionally full DHCP) server for PXE clients.
// Set the exported fields, then call Start; Close stops it.
type Server struct {
	// Addr is the DHCP listen address (default ":67"). Keep the host
	// empty on a real network: a socket bound to a unicast address does
	// not receive broadcasts. Tests use "127.0.0.1:0".
	Addr string
	// PXEAddr is the PXE boot server address (default ":4011").
	PXEAddr string
	// Interface, when set, binds both sockets to one network interface
	// (SO_BINDTODEVICE), so provisiond answers only on the boot network
	// and its broadcast replies leave through it.
	Interface string
	// ServerIP is this server's address on the boot network: the DHCP
	// server identifier and the TFTP next-server. Required.
	ServerIP netip.Addr
	// BootURL is provisiond's HTTP base URL as clients reach it, for
	// example "http://10.0.0.1:8080". Required.
	BootURL string
	// HTTPPath is the path under BootURL where the boot files are served
	// over HTTP, for UEFI HTTP boot clients (default "/netboot/").
	HTTPPath string
	// BootFiles maps architectures to boot files (default
	// DefaultBootFiles()).
	BootFiles BootFiles
	// Full, when set, makes the Server hand out addresses too.
	Full *Full
	// Recorder, when set, receives one event per answer ("dhcp:offer",
	// "dhcp:ack", "dhcp:nak").
	Recorder Recorder
	Logger   *slog.Logger
	// Metrics, when set, counts requests and answers (see NewMetrics).
	Metrics *Metrics

	mu     sync.Mutex
	conns  []net.PacketConn
	wg     sync.WaitGroup
	closed bool
	seen   ipMACs
}

// Standard ports.
const (
	portDHCP = 67
	portPXE  = 4011
)

func (s *Server) bootFiles() BootFiles {
	if s.BootFiles == nil {
		return DefaultBootFiles()
	}
	return s.BootFiles
}

func (s *Server) httpPath() string {
	if s.HTTPPath == "" {
		return "/netboot/"
	}
	return s.HTTPPath
}

func (s *Server) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// Start opens the DHCP and PXE sockets and serves them until Close.
func (s *Server) Start() error {
	if !s.ServerIP.Is4() {
		return errors.New("dhcp: ServerIP must be an IPv4 address")
	}
	if s.BootURL == "" {
		return errors.New("dhcp: BootURL is required")
	}
	if s.Full != nil {
		if err := s.Full.check(); err != nil {
			return err
		}
	}
	dhcpAddr, pxeAddr := s.Addr, s.PXEAddr
	if dhcpAddr == "" {
		dhcpAddr = fmt.Sprintf(":%d", portDHCP)
	}
	if pxeAddr == "" {
		pxeAddr = fmt.Sprintf(":%d", portPXE)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range []struct {
		addr string
		pxe  bool
	}{{dhcpAddr, false}, {pxeAddr, true}} {
		conn, err := s.listen(l.addr)
		if err != nil {
			for _, c := range s.conns {
				c.Close()
			}
			s.conns = nil
			return err
		}
		s.conns = append(s.conns, conn)
		s.wg.Add(1)
		go s.serve(conn, l.pxe)
	}
	return nil
}

func (s *Server) listen(addr string) (net.PacketConn, error) {
	ua, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("dhcp: %q: %w", addr, err)
	}
	conn, err := server4.NewIPv4UDPConn(s.Interface, ua)
	if err != nil {
		return nil, fmt.Errorf("dhcp: listen %s (interface %q): %w", addr, s.Interface, err)
	}
	return conn, nil
}

// Addrs returns the addresses of the DHCP and PXE sockets, after Start.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []net.Addr
	for _, c := range s.conns {
		out = append(out, c.LocalAddr())
	}
	return out
}

// Close stops serving and waits for the handlers to return.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// serve reads requests one at a time: a DHCP exchange is a few small
// packets, and answering in order keeps a flood from piling up goroutines.
func (s *Server) serve(conn net.PacketConn, pxe bool) {
	defer s.wg.Done()
	buf := make([]byte, 4096) // beyond any DHCP message size a client may allow (option 57)
	for {
		n, peer, err := conn.ReadFrom(buf)
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log().Warn("dhcp read", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		req, err := dhcpv4.FromBytes(buf[:n])
		if err != nil {
			s.Metrics.ignored("malformed")
			s.log().Debug("dhcp: malformed packet", "from", peer, "err", err)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, event := s.handle(ctx, req, pxe, peer)
		cancel()
		if resp == nil {
			continue
		}
		s.record(req, event, peer)
		dst := destination(req, peer)
		if _, err := conn.WriteTo(resp.ToBytes(), dst); err != nil {
			s.log().Warn("dhcp: send", "to", dst, "mac", req.ClientHWAddr, "err", err)
		}
	}
}

// destination is where a reply goes (RFC 2131 section 4.1): to the relay
// agent if there is one, to a client that has an address, else broadcast.
func destination(req *dhcpv4.DHCPv4, peer net.Addr) net.Addr {
	if gi := req.GatewayIPAddr; gi != nil && !gi.IsUnspecified() {
		return &net.UDPAddr{IP: gi, Port: portDHCP}
	}
	up, ok := peer.(*net.UDPAddr)
	if !ok || up.IP == nil || up.IP.IsUnspecified() {
		port := dhcpv4.ClientPort
		if ok && up.Port != 0 {
			port = up.Port
		}
		return &net.UDPAddr{IP: net.IPv4bcast, Port: port}
	}
	return up
}

// record puts an answer into the inventory.
func (s *Server) record(req *dhcpv4.DHCPv4, event string, peer net.Addr) {
	c := classify(req)
	if s.Recorder == nil || c.mac == "" {
		return
	}
	status := 200
	if event == "dhcp:nak" {
		status = 409
	}
	s.Recorder.Record(c.mac, "", inventory.Event{
		Time: time.Now().UTC(), Endpoint: event, Remote: peer.String(), Status: status,
	})
}

// handle answers one request; a nil reply means no answer.
func (s *Server) handle(ctx context.Context, req *dhcpv4.DHCPv4, pxePort bool, peer net.Addr) (*dhcpv4.DHCPv4, string) {
	if req.OpCode != dhcpv4.OpcodeBootRequest {
		s.Metrics.ignored("not_request")
		return nil, ""
	}
	mt := req.MessageType()
	s.Metrics.request(mt, pxePort)
	c := classify(req)
	if ip, ok := clientIP(req, peer); ok && c.mac != "" {
		s.seen.put(ip, c.mac)
	}
	log := s.log().With("mac", c.mac, "type", mt.String(), "port", map[bool]int{false: portDHCP, true: portPXE}[pxePort])

	var resp *dhcpv4.DHCPv4
	var event string
	var err error
	switch {
	case pxePort:
		resp, event, err = s.handlePXE(req, c, log)
	case s.Full != nil:
		resp, event, err = s.handleFull(ctx, req, c, log)
	default:
		resp, event, err = s.handleProxy(req, c, log)
	}
	if err != nil {
		s.Metrics.ignored("error")
		log.Error("dhcp: no answer", "err", err)
		return nil, ""
	}
	if resp != nil {
		s.Metrics.reply(resp.MessageType())
	}
	return resp, event
}

// clientIP is the address a client already has, if any.
func clientIP(req *dhcpv4.DHCPv4, peer net.Addr) (netip.Addr, bool) {
	if a, ok := netip.AddrFromSlice(req.ClientIPAddr.To4()); ok && !a.IsUnspecified() {
		return a, true
	}
	if up, ok := peer.(*net.UDPAddr); ok {
		if a, ok := netip.AddrFromSlice(up.IP.To4()); ok && !a.IsUnspecified() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255}) && !a.IsLoopback() {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// MACFor returns the MAC of the machine last seen at ip (from its DHCP
// requests and, in full mode, its lease), for naming TFTP clients.
func (s *Server) MACFor(ip netip.Addr) (string, bool) { return s.seen.get(ip) }
