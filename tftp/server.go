package tftp

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pin/tftp/v3"

	"github.com/provisiond/provisiond/inventory"
)

// Recorder takes boot events for the machine inventory. Record must not
// block on storage.
type Recorder interface {
	Record(mac, uuid string, e inventory.Event)
}

// MACResolver names the machine at an address; the DHCP server knows it
// from the machine's requests. ok is false when it does not.
type MACResolver interface {
	MACFor(ip netip.Addr) (mac string, ok bool)
}

// Server is a read-only TFTP server for one directory. Set the exported
// fields, then call Start; Close stops it.
type Server struct {
	// Addr is the listen address (default ":69").
	Addr string
	// Root is the directory served. Required.
	Root string
	// Timeout is the per-packet retransmission timeout (default 2s);
	// Retries how often a packet is sent before the transfer is abandoned
	// (default 5).
	Timeout time.Duration
	Retries int
	// MaxTransfers bounds the transfers in flight (default 64); a request
	// beyond it is answered with an error at once, and the client retries.
	MaxTransfers int
	// Recorder, when set, receives one event per request:
	// "tftp:<file>" with status 200, 404 (missing) or 400 (refused name).
	Recorder Recorder
	// MACs names clients for the inventory; when it does not know one,
	// the kernel's neighbour table (/proc/net/arp) is asked.
	MACs    MACResolver
	Logger  *slog.Logger
	Metrics *Metrics

	root *os.Root
	sem  chan struct{}
	srv  *tftp.Server
	conn net.PacketConn
	done chan struct{}
	once sync.Once
}

func (s *Server) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// Start opens the root and the socket and serves until Close.
func (s *Server) Start() error {
	if s.Root == "" {
		return errors.New("tftp: Root is required")
	}
	root, err := os.OpenRoot(s.Root)
	if err != nil {
		return fmt.Errorf("tftp: root: %w", err)
	}
	addr := s.Addr
	if addr == "" {
		addr = ":69"
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		root.Close()
		return fmt.Errorf("tftp: %q: %w", addr, err)
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		root.Close()
		return fmt.Errorf("tftp: listen: %w", err)
	}
	s.root, s.conn = root, conn
	max := s.MaxTransfers
	if max <= 0 {
		max = 64
	}
	s.sem = make(chan struct{}, max)
	s.srv = tftp.NewServer(s.read, nil)
	timeout, retries := s.Timeout, s.Retries
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	if retries <= 0 {
		retries = 5
	}
	s.srv.SetTimeout(timeout)
	s.srv.SetRetries(retries)
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(conn); err != nil {
			s.log().Error("tftp: serve", "err", err)
		}
	}()
	return nil
}

// LocalAddr returns the listening address, after Start.
func (s *Server) LocalAddr() net.Addr { return s.conn.LocalAddr() }

// Close stops the server; transfers in flight finish or time out first.
func (s *Server) Close() error {
	s.once.Do(func() {
		if s.srv == nil {
			return
		}
		s.srv.Shutdown()
		<-s.done
		s.root.Close()
	})
	return nil
}

// read is the read-request handler.
func (s *Server) read(requested string, rf io.ReaderFrom) error {
	start := time.Now()
	var remote net.UDPAddr
	ot, _ := rf.(tftp.OutgoingTransfer)
	if ot != nil {
		remote = ot.RemoteAddr()
	}
	log := s.log().With("file", printable(requested), "remote", remote.String())
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	default:
		s.Metrics.transfer("busy", 0, time.Since(start))
		log.Warn("tftp: too many transfers in flight", "max", cap(s.sem))
		return errors.New("server busy, try again")
	}
	name, err := fileName(requested)
	if err != nil {
		s.Metrics.transfer("refused", 0, time.Since(start))
		s.record(remote, "tftp:"+printable(requested), 400)
		log.Warn("tftp: refused", "err", err)
		return fmt.Errorf("refused: %w", err)
	}
	f, size, err := s.open(name)
	if err != nil {
		status, result := 404, "not_found"
		if !errors.Is(err, fs.ErrNotExist) {
			status, result = 403, "refused"
		}
		s.Metrics.transfer(result, 0, time.Since(start))
		s.record(remote, "tftp:"+name, status)
		log.Warn("tftp: not served", "err", err)
		return errors.New("file not found")
	}
	defer f.Close()
	if ot != nil {
		ot.SetSize(size)
	}
	n, err := rf.ReadFrom(f)
	if err != nil {
		if n == 0 && strings.Contains(err.Error(), "code=8") {
			// TFTP error 8 (RFC 2347): the client ended the transfer after
			// the option acknowledgement. UEFI firmware does this on
			// purpose, to learn the size (tsize) before the real request.
			s.Metrics.transfer("size_only", 0, time.Since(start))
			log.Debug("tftp: client asked for the size only")
			return nil
		}
		s.Metrics.transfer("error", n, time.Since(start))
		log.Warn("tftp: transfer failed", "bytes", n, "err", err)
		return nil // the library has already told the client
	}
	s.Metrics.transfer("ok", n, time.Since(start))
	s.record(remote, "tftp:"+name, 200)
	log.Info("tftp: sent", "bytes", n, "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// open opens a regular file under the root. The type is checked before
// opening (a FIFO would block) and again on the open file.
func (s *Server) open(name string) (*os.File, int64, error) {
	pre, err := s.root.Stat(name)
	if err != nil {
		return nil, 0, err
	}
	if !pre.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s: not a regular file", name)
	}
	f, err := s.root.Open(name)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || !os.SameFile(pre, fi) {
		f.Close()
		return nil, 0, fmt.Errorf("%s: replaced while opening", name)
	}
	return f, fi.Size(), nil
}

func (s *Server) record(remote net.UDPAddr, endpoint string, status int) {
	if s.Recorder == nil {
		return
	}
	ip, ok := netip.AddrFromSlice(remote.IP)
	if !ok {
		return
	}
	ip = ip.Unmap()
	mac, ok := "", false
	if s.MACs != nil {
		mac, ok = s.MACs.MACFor(ip)
	}
	if !ok {
		mac, ok = neighbour(ip)
	}
	if !ok {
		return
	}
	s.Recorder.Record(mac, "", inventory.Event{
		Time: time.Now().UTC(), Endpoint: endpoint, Remote: remote.String(), Status: status,
	})
}

// printable bounds and sanitizes a client-sent name for logs and events.
func printable(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	if !utf8.ValidString(s) {
		s = fmt.Sprintf("%q", s)
	}
	return s
}
