package dhcp

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"golang.org/x/sys/unix"
)

// TestNetns runs the server as it runs on a boot network: on ports 67 and
// 4011, bound to an interface, answering by broadcast; the client is
// nclient4 on a raw socket, as firmware is, on the other end of a veth
// pair. Both ends are in a network namespace the test creates. Needs root
// and iproute2; skipped otherwise.
func TestNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespace)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip (iproute2)")
	}
	ns := fmt.Sprintf("pdhcp%d", os.Getpid())
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ip("-n", ns, "link", "add", "srv0", "type", "veth", "peer", "name", "cli0")
	ip("-n", ns, "addr", "add", "192.0.2.1/24", "dev", "srv0")
	ip("-n", ns, "link", "set", "srv0", "up")
	ip("-n", ns, "link", "set", "cli0", "up")

	rec := &recorder{}
	s := &Server{Interface: "srv0", ServerIP: testServerIP, BootURL: testBootURL, Recorder: rec}
	var clients []*nclient4.Client
	newRaw := func(mac string, timeout time.Duration) *nclient4.Client {
		hw, _ := net.ParseMAC(mac)
		c, err := nclient4.New("cli0", nclient4.WithHWAddr(hw), nclient4.WithTimeout(timeout), nclient4.WithRetry(2))
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
		return c
	}
	var bios, uefi, ipx, httpc, quiet, pxe *nclient4.Client
	// Sockets are created inside the namespace and keep it afterwards.
	err := inNetns(ns, func() error {
		if err := s.Start(); err != nil {
			return err
		}
		bios = newRaw("52:54:00:00:03:01", 2*time.Second)
		uefi = newRaw("52:54:00:00:03:02", 2*time.Second)
		ipx = newRaw("52:54:00:00:03:03", 2*time.Second)
		httpc = newRaw("52:54:00:00:03:04", 2*time.Second)
		quiet = newRaw("52:54:00:00:03:05", 300*time.Millisecond)
		hw, _ := net.ParseMAC("52:54:00:00:03:02")
		var err error
		pxe, err = nclient4.New("cli0", nclient4.WithHWAddr(hw), nclient4.WithTimeout(2*time.Second), nclient4.WithRetry(2),
			nclient4.WithServerAddr(&net.UDPAddr{IP: net.IPv4bcast, Port: portPXE}))
		clients = append(clients, pxe)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
		s.Close()
	}()

	for _, tc := range []struct {
		name   string
		c      *nclient4.Client
		mods   []dhcpv4.Modifier
		file   string
		vendor string
		opts   bool
	}{
		{"BIOS PXE", bios, biosPXE, "undionly.kpxe", "PXEClient", true},
		{"UEFI PXE", uefi, uefiPXE, "ipxe.efi", "PXEClient", false},
		{"iPXE", ipx, ipxe, testBootURL + "/boot.ipxe", "PXEClient", true},
		{"UEFI HTTP", httpc, uefiHTTP, testBootURL + "/netboot/ipxe.efi", "HTTPClient", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			offer, err := tc.c.DiscoverOffer(t.Context(), tc.mods...)
			if err != nil {
				t.Fatal(err)
			}
			checkBoot(t, offer, tc.file, tc.vendor, tc.opts)
			if !offer.YourIPAddr.IsUnspecified() {
				t.Errorf("proxy offer gives address %s", offer.YourIPAddr)
			}
		})
	}
	t.Run("non-PXE client", func(t *testing.T) {
		if offer, err := quiet.DiscoverOffer(t.Context(), notPXE...); err == nil {
			t.Fatalf("answered:\n%s", offer.Summary())
		}
	})
	t.Run("boot server on 4011, by broadcast", func(t *testing.T) {
		req := pxeRequest(t, "52:54:00:00:03:02", net.IPv4zero, uefiPXE)
		ack, err := pxe.SendAndRead(t.Context(), pxe.RemoteAddr(), req, nclient4.IsMessageType(dhcpv4.MessageTypeAck))
		if err != nil {
			t.Fatal(err)
		}
		checkBoot(t, ack, "ipxe.efi", "PXEClient", false)
	})
}

// inNetns runs f on a thread that has joined network namespace ns, then
// returns the thread to its own (or lets it die with its goroutine).
func inNetns(ns string, f func() error) error {
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return err
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return // the thread stays locked and dies with the goroutine
		}
		defer orig.Close()
		if err := setns(target.Fd()); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		ferr := f()
		if setns(orig.Fd()) == nil {
			runtime.UnlockOSThread()
		}
		errc <- ferr
	}()
	return <-errc
}

func setns(fd uintptr) error { return unix.Setns(int(fd), unix.CLONE_NEWNET) }
