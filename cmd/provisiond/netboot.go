package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/provisiond/provisiond/assets"
	"github.com/provisiond/provisiond/console"
	"github.com/provisiond/provisiond/dhcp"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/server"
	"github.com/provisiond/provisiond/tftp"
)

// netbootConfig is the built-in network boot part of serveConfig: proxyDHCP
// (or full DHCP) and TFTP.
type netbootConfig struct {
	ProxyDHCP     bool
	DHCPMode      string
	DHCPRange     string
	DHCPInterface string
	DHCPAddr      string
	DHCPPXEAddr   string
	DHCPLeaseTime time.Duration
	TFTP          bool
	TFTPAddr      string
	TFTPRoot      string
	BootURL       string
	PXEBootFile   string

	bootFiles dhcp.BootFiles
	serverIP  netip.Addr
}

// netbootHTTPPath is where --tftp-root is also served over HTTP, for UEFI
// HTTP boot clients.
const netbootHTTPPath = "/netboot/"

func netbootFlags(fs *flag.FlagSet, c *netbootConfig) {
	fs.BoolVar(&c.ProxyDHCP, "proxy-dhcp", false, "answer PXE clients' DHCP (ports 67 and 4011) with boot information only, beside the site's DHCP server (see docs/netboot.md)")
	fs.StringVar(&c.DHCPMode, "dhcp-mode", "proxy", "`mode` of the DHCP server: proxy (boot information only), or full (also hand out addresses from --dhcp-range; only on an isolated network)")
	fs.StringVar(&c.DHCPRange, "dhcp-range", "", "`pool` whose sticky leases full DHCP mode hands out (needs --dhcp-mode=full)")
	fs.StringVar(&c.DHCPInterface, "dhcp-interface", "", "network `interface` the DHCP server answers on (its first IPv4 address is the server identifier and TFTP next-server)")
	fs.StringVar(&c.DHCPAddr, "dhcp-addr", ":67", "`address` of the DHCP listener (a port other than 67 is for tests)")
	fs.StringVar(&c.DHCPPXEAddr, "dhcp-pxe-addr", ":4011", "`address` of the PXE boot server listener")
	fs.DurationVar(&c.DHCPLeaseTime, "dhcp-lease-time", time.Hour, "DHCP lease time in full mode (the address itself is the machine's for good)")
	fs.BoolVar(&c.TFTP, "tftp", false, "serve --tftp-root over TFTP (read-only)")
	fs.StringVar(&c.TFTPAddr, "tftp-addr", ":69", "`address` of the TFTP listener")
	fs.StringVar(&c.TFTPRoot, "tftp-root", "", "`directory` of the iPXE binaries (undionly.kpxe, ipxe.efi, ...), served over TFTP and under "+netbootHTTPPath+" over HTTP")
	fs.StringVar(&c.BootURL, "boot-url", "", "provisiond's HTTP base `URL` as machines reach it, advertised to iPXE and UEFI HTTP boot (default: http:// and --addr, which must then be a specific address)")
	fs.StringVar(&c.PXEBootFile, "pxe-bootfile", dhcp.DefaultBootFiles().String(), "boot file per client `arch`itecture (bios, efi32, efi64, arm32, arm64), as ARCH=FILE,...")
}

// enabled reports whether any built-in network boot service is on.
func (c *netbootConfig) dhcpEnabled() bool { return c.ProxyDHCP || c.DHCPMode == "full" }

// checkNetboot validates the network boot flags, naming them.
func checkNetboot(c *netbootConfig, addr string) error {
	switch c.DHCPMode {
	case "proxy":
		if c.DHCPRange != "" {
			return errors.New("--dhcp-range hands out addresses: give --dhcp-mode=full too, and only on an isolated network with no other DHCP server")
		}
	case "full":
		if c.DHCPRange == "" {
			return errors.New("--dhcp-mode=full needs --dhcp-range POOL: the pool whose leases are handed out")
		}
	default:
		return fmt.Errorf("--dhcp-mode %q: want proxy or full", c.DHCPMode)
	}
	if c.TFTP && c.TFTPRoot == "" {
		return errors.New("--tftp needs --tftp-root")
	}
	if c.TFTPRoot != "" {
		st, err := os.Stat(c.TFTPRoot)
		if err != nil {
			return fmt.Errorf("--tftp-root: %w", err)
		}
		if !st.IsDir() {
			return fmt.Errorf("--tftp-root %s: not a directory", c.TFTPRoot)
		}
	}
	if !c.dhcpEnabled() {
		return nil
	}
	bf, err := dhcp.ParseBootFiles(c.PXEBootFile)
	if err != nil {
		return fmt.Errorf("--pxe-bootfile: %w", err)
	}
	c.bootFiles = bf
	if c.BootURL == "" {
		host, port, _ := net.SplitHostPort(addr)
		ip, err := netip.ParseAddr(host)
		if err != nil || ip.IsUnspecified() || port == "0" {
			return fmt.Errorf("--addr %q is not one address machines can reach: give --boot-url (for example http://10.0.0.1:8080)", addr)
		}
		c.BootURL = "http://" + net.JoinHostPort(ip.String(), port)
	}
	u, err := url.Parse(c.BootURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--boot-url %q: want http://HOST[:PORT]", c.BootURL)
	}
	c.BootURL = strings.TrimRight(c.BootURL, "/")
	if c.DHCPInterface != "" {
		ip, err := interfaceIPv4(c.DHCPInterface)
		if err != nil {
			return fmt.Errorf("--dhcp-interface: %w", err)
		}
		c.serverIP = ip
	} else if ip, err := netip.ParseAddr(u.Hostname()); err == nil && ip.Is4() && !ip.IsUnspecified() {
		c.serverIP = ip
	} else {
		return fmt.Errorf("--proxy-dhcp needs this server's IPv4 address on the boot network: give --dhcp-interface (or an IPv4 --boot-url)")
	}
	return nil
}

func interfaceIPv4(name string) (netip.Addr, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return netip.Addr{}, err
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%s: %w", name, err)
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
			return p.Addr(), nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%s has no IPv4 address", name)
}

// netboot holds the running network boot services.
type netboot struct {
	dhcp *dhcp.Server
	tftp *tftp.Server
}

// startNetboot starts what the flags ask for. The catalog must be loaded:
// full mode checks its pool.
func startNetboot(c netbootConfig, log *slog.Logger, reg prometheus.Registerer, rec console.Recorder,
	alloc dhcp.Allocator, leases *ipam.Table, srv *server.Server) (*netboot, error) {
	nb := &netboot{}
	if c.dhcpEnabled() {
		d := &dhcp.Server{
			Addr: c.DHCPAddr, PXEAddr: c.DHCPPXEAddr, Interface: c.DHCPInterface,
			ServerIP: c.serverIP, BootURL: c.BootURL, HTTPPath: netbootHTTPPath, BootFiles: c.bootFiles,
			Recorder: rec, Logger: log, Metrics: dhcp.NewMetrics(reg),
		}
		if c.DHCPMode == "full" {
			d.Full = &dhcp.Full{
				Pool: c.DHCPRange, Allocator: alloc, Leases: leases, LeaseTime: c.DHCPLeaseTime,
				Pools: func(name string) *ipam.Pool {
					if snap := srv.Snapshot(); snap != nil {
						return snap.Catalog.Pools[name]
					}
					return nil
				},
				Registered: func(mac string) bool {
					snap := srv.Snapshot()
					return snap != nil && snap.Machine(mac, "") != nil
				},
			}
		}
		if err := d.Start(); err != nil {
			nb.Close()
			flagName := "--proxy-dhcp"
			if c.DHCPMode == "full" {
				flagName = "--dhcp-range"
			}
			return nil, fmt.Errorf("%s: %w", flagName, err)
		}
		nb.dhcp = d
		addrs := d.Addrs()
		log.Info("listening", "listener", "dhcp", "mode", c.DHCPMode, "addr", addrs[0].String(), "pxe_addr", addrs[1].String(),
			"interface", c.DHCPInterface, "server_ip", c.serverIP, "boot_url", c.BootURL, "pxe_bootfile", c.bootFiles.String())
	}
	if c.TFTP {
		t := &tftp.Server{Addr: c.TFTPAddr, Root: c.TFTPRoot, Recorder: rec, Logger: log, Metrics: tftp.NewMetrics(reg)}
		if nb.dhcp != nil {
			t.MACs = nb.dhcp
		}
		if err := t.Start(); err != nil {
			nb.Close()
			return nil, fmt.Errorf("--tftp-addr: %w", err)
		}
		nb.tftp = t
		log.Info("listening", "listener", "tftp", "addr", t.LocalAddr().String(), "root", c.TFTPRoot)
	}
	return nb, nil
}

// netbootFiles serves --tftp-root over HTTP (server.Config.Netboot, under
// /netboot/ on the boot listener, with its request log and metrics), for
// UEFI HTTP boot clients; nil without --tftp-root.
func netbootFiles(c netbootConfig, log *slog.Logger) (*assets.Handler, error) {
	if c.TFTPRoot == "" {
		return nil, nil
	}
	h, err := assets.New(c.TFTPRoot, log)
	if err != nil {
		return nil, fmt.Errorf("--tftp-root: %w", err)
	}
	return h, nil
}

// Close stops the network boot services.
func (nb *netboot) Close() {
	if nb.dhcp != nil {
		nb.dhcp.Close()
	}
	if nb.tftp != nil {
		nb.tftp.Close()
	}
}
