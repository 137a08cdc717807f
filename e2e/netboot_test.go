//go:build e2e

// The built-in network boot end-to-end test: no bootfile= from QEMU, no
// dnsmasq. See README.md ("Built-in DHCP and TFTP").

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// nbBridgeAddr is provisiond's address on the test network: the pool's
	// gateway, so the catalog of the firmware test serves unchanged.
	nbBridgeAddr = "10.0.2.2"
	nbBootAddr   = nbBridgeAddr + ":8080"
	nbAdminAddr  = "127.0.0.1:8081"
	// nbVMTimeout bounds one VM. UEFI's own PXE plus iPXE takes about
	// 20 s under TCG.
	nbVMTimeout = 120 * time.Second
)

// nbMachine is one VM of the test: which machine, which firmware, and what
// its firmware is expected to load from provisiond.
type nbMachine struct {
	testMachine
	fw   string // "uefi": OVMF's own PXE, no iPXE ROM; "bios": SeaBIOS with the iPXE ROM
	tftp string // file the firmware must load over TFTP; "" when it is iPXE already
}

// TestNetboot boots two VMs on two isolated networks at once, each a
// bridge in a network namespace of its own, with no bootfile= from QEMU:
//
//   - full: provisiond is the only DHCP server (--dhcp-mode=full). The
//     BIOS VM's ROM is iPXE, which must get /boot.ipxe's URL straight
//     away, not the iPXE binary again.
//   - proxy: dnsmasq, in a third namespace cabled to the bridge, is the
//     site's DHCP server with no boot options; provisiond runs
//     --proxy-dhcp. The UEFI VM has no iPXE ROM: OVMF's own PXE gets its
//     address from dnsmasq and ipxe.efi from provisiond (proxy offer, then
//     the boot server on port 4011), loads it over TFTP, and iPXE, now
//     answered with /boot.ipxe's URL, boots as in TestFirmwareBoot.
//
// Both must boot to the end of e2e/init (checkSerial), and provisiond's
// inventory must show the DHCP and TFTP events.
func TestNetboot(t *testing.T) {
	start := time.Now()
	if os.Geteuid() != 0 {
		nbSkipOrFail(t, "TestNetboot needs root (network namespace, bridge, tap)")
	}
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		nbSkipOrFail(t, "qemu-system-x86_64 not found (install: "+installHint+")")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		nbSkipOrFail(t, "ip not found (apt-get install -y iproute2)")
	}
	if !fileExists("/usr/lib/ipxe/ipxe.efi") || !fileExists("/usr/lib/ipxe/undionly.kpxe") {
		nbSkipOrFail(t, "/usr/lib/ipxe/ipxe.efi or undionly.kpxe missing (apt-get install -y ipxe)")
	}
	ovmfCode, ovmfVars := findOVMF()
	if ovmfCode == "" {
		t.Fatalf("OVMF not found (install: %s)", installHint)
	}

	tmp := t.TempDir()
	bin, cache := nbBuild(t, tmp)
	assets := filepath.Join(tmp, "assets")
	for _, name := range []string{"vmlinuz", "initrd.cpio.gz"} {
		if err := copyFile(filepath.Join(cache, name), filepath.Join(assets, name)); err != nil {
			t.Fatal(err)
		}
	}
	// Debian's ipxe.efi is a symlink to /boot/ipxe.efi, outside the root:
	// copy the files, as docs/netboot.md tells users to.
	tftpRoot := filepath.Join(tmp, "tftp")
	for _, name := range []string{"ipxe.efi", "undionly.kpxe"} {
		if err := copyFile(filepath.Join("/usr/lib/ipxe", name), filepath.Join(tftpRoot, name)); err != nil {
			t.Fatal(err)
		}
	}
	catalog := filepath.Join(tmp, "catalog")
	if err := os.CopyFS(catalog, os.DirFS(filepath.Join("testdata", "catalog"))); err != nil {
		t.Fatal(err)
	}

	if _, err := exec.LookPath("dnsmasq"); err != nil {
		nbSkipOrFail(t, "dnsmasq not found: it plays the site's DHCP server beside the proxyDHCP (apt-get install -y dnsmasq-base)")
	}
	t.Logf("setup (build, copies): %s", time.Since(start).Round(100*time.Millisecond))

	// Two isolated networks at once, one VM each.
	nets := []struct {
		mode string
		vm   nbMachine
	}{
		// provisiond is the only DHCP server; the VM's ROM is iPXE.
		{"full", nbMachine{testMachine: worker1, fw: "bios"}},
		// dnsmasq is the site's DHCP server, provisiond answers PXE only;
		// the VM has no iPXE ROM and loads ipxe.efi over TFTP.
		{"proxy", nbMachine{testMachine: node1, fw: "uefi", tftp: "ipxe.efi"}},
	}
	for _, n := range nets {
		t.Run(n.mode, func(t *testing.T) {
			t.Parallel()
			ns := nbNetns(t, n.mode)
			nbRouterAdverts(t, ns)
			args := []string{
				"--addr", nbBootAddr, "--admin-addr", nbAdminAddr,
				"--catalog", catalog, "--assets-dir", assets, "--data-dir", t.TempDir(),
				"--log-format", "json", "--dhcp-interface", "br0",
				"--tftp", "--tftp-root", tftpRoot,
			}
			var site *lockedBuffer
			if n.mode == "full" {
				args = append(args, "--dhcp-mode", "full", "--dhcp-range", poolName)
			} else {
				args = append(args, "--proxy-dhcp")
				site = nbSiteDHCP(t, ns)
			}
			serverLog := &lockedBuffer{}
			nbStartServer(t, ns, bin, serverLog, args...)
			nbBoot(t, ns, qemu, ovmfCode, ovmfVars, n.vm)

			logText := serverLog.String()
			if n.vm.tftp != "" && !strings.Contains(logText, `"msg":"tftp: sent","file":"`+n.vm.tftp+`"`) {
				t.Errorf("provisiond's log has no TFTP transfer of %s", n.vm.tftp)
			}
			if n.vm.tftp == "" && strings.Contains(logText, `"msg":"tftp: sent"`) {
				t.Errorf("the VM's iPXE ROM was given an iPXE binary again: a chainload loop")
			}
			if site != nil {
				// The address came from the site's server, and provisiond
				// never handed one out.
				if !regexp.MustCompile(`DHCPACK\(eth0\) 10\.0\.2\.2\d\d ` + n.vm.mac).MatchString(site.String()) {
					t.Errorf("dnsmasq did not lease an address to %s:\n%s", n.vm.mac, site.String())
				}
				if strings.Contains(logText, `"address":`) {
					t.Errorf("provisiond handed out an address in proxy mode")
				}
			}
			want := []string{"dhcp:offer", "dhcp:ack", "/ipxe", "/ignition"} // /boot.ipxe names no machine
			if n.vm.tftp != "" {
				want = append(want, "tftp:"+n.vm.tftp)
			}
			nbCheckInventory(t, nsHTTPClient(ns), n.vm, want)
			if t.Failed() {
				t.Logf("provisiond log:\n%s", logText)
				if site != nil {
					t.Logf("dnsmasq log:\n%s", site.String())
				}
			}
			if p := os.Getenv("PROVISIOND_E2E_LOG"); p != "" {
				_ = os.WriteFile(p+"."+n.mode, []byte(logText), 0o644)
			}
		})
	}
	t.Cleanup(func() { t.Logf("TestNetboot took %s", time.Since(start).Round(100*time.Millisecond)) })
}

func nbSkipOrFail(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " and CI=true")
	}
	t.Skip(msg)
}

// nbBuild builds the guest and provisiond at the same time, as
// TestFirmwareBoot does, and returns the binary and the guest's cache.
func nbBuild(t *testing.T, tmp string) (bin, cache string) {
	t.Helper()
	wd, _ := os.Getwd()
	cache = os.Getenv("PROVISIOND_E2E_CACHE")
	if cache == "" {
		cache = filepath.Join(wd, ".cache")
	}
	cache, _ = filepath.Abs(cache)
	bin = filepath.Join(tmp, "provisiond")
	var wg sync.WaitGroup
	var guestErr, buildErr error
	var guestOut, buildOut []byte
	wg.Add(2)
	go func() {
		defer wg.Done()
		guestOut, guestErr = exec.Command("sh", filepath.Join(wd, "build-guest.sh"), cache).CombinedOutput()
	}()
	go func() {
		defer wg.Done()
		if p := os.Getenv("PROVISIOND_E2E_BIN"); p != "" {
			bin, buildErr = filepath.Abs(p)
			return
		}
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/provisiond")
		cmd.Dir = filepath.Dir(wd)
		buildOut, buildErr = cmd.CombinedOutput()
	}()
	wg.Wait()
	if guestErr != nil {
		t.Fatalf("e2e/build-guest.sh: %v\n%s", guestErr, guestOut)
	}
	if buildErr != nil {
		t.Fatalf("go build ./cmd/provisiond: %v\n%s", buildErr, buildOut)
	}
	return bin, cache
}

// nbNetns creates a network namespace holding bridge br0 (10.0.2.2/24)
// with tap0 as its port, and deletes it (and them) at cleanup. Nothing in
// it is connected to any other network.
func nbNetns(t *testing.T, name string) string {
	t.Helper()
	ns := fmt.Sprintf("pdnb%d-%s", os.Getpid(), name)
	nbIP(t, "netns", "add", ns)
	t.Cleanup(func() { nbDelNetns(t, ns) })
	nbIP(t, "-n", ns, "link", "set", "lo", "up")
	nbIP(t, "-n", ns, "link", "add", "br0", "type", "bridge")
	nbIP(t, "-n", ns, "addr", "add", nbBridgeAddr+"/24", "dev", "br0")
	nbIP(t, "-n", ns, "link", "set", "br0", "up")
	nbIP(t, "-n", ns, "tuntap", "add", "dev", "tap0", "mode", "tap")
	nbIP(t, "-n", ns, "link", "set", "tap0", "master", "br0")
	nbIP(t, "-n", ns, "link", "set", "tap0", "up")
	return ns
}

func nbIP(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func nbDelNetns(t *testing.T, ns string) {
	if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
		t.Logf("ip netns del %s: %v: %s", ns, err, out)
	}
}

// nbSiteDHCP plays the site's DHCP server: dnsmasq in a namespace of its
// own (a separate host), cabled to ns's bridge by a veth pair, at
// 10.0.2.3, leasing 10.0.2.200-250 (outside provisiond's pool) with no
// boot options at all. It returns dnsmasq's log.
func nbSiteDHCP(t *testing.T, ns string) *lockedBuffer {
	t.Helper()
	site := ns + "-site"
	nbIP(t, "netns", "add", site)
	t.Cleanup(func() { nbDelNetns(t, site) })
	nbIP(t, "-n", ns, "link", "add", "vsite", "type", "veth", "peer", "name", "eth0", "netns", site)
	nbIP(t, "-n", ns, "link", "set", "vsite", "master", "br0")
	nbIP(t, "-n", ns, "link", "set", "vsite", "up")
	nbIP(t, "-n", site, "link", "set", "lo", "up")
	nbIP(t, "-n", site, "addr", "add", "10.0.2.3/24", "dev", "eth0")
	nbIP(t, "-n", site, "link", "set", "eth0", "up")
	dir := t.TempDir()
	logBuf := &lockedBuffer{}
	cmd := exec.Command("ip", "netns", "exec", site, "dnsmasq", "--keep-in-foreground", "--log-facility=-",
		"--conf-file=/dev/null", "--port=0", "--user=root", "--group=root",
		"--interface=eth0", "--bind-interfaces", "--log-dhcp",
		"--pid-file="+filepath.Join(dir, "dnsmasq.pid"), "--dhcp-leasefile="+filepath.Join(dir, "leases"),
		"--dhcp-range=10.0.2.200,10.0.2.250,255.255.255.0,1h", "--dhcp-option=option:router,10.0.2.2")
	cmd.Stdout, cmd.Stderr = logBuf, logBuf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dnsmasq: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	return logBuf
}

// nbStartServer runs provisiond inside the namespace and waits until its
// boot, admin, dhcp and tftp listeners are logged.
func nbStartServer(t *testing.T, ns, bin string, logBuf *lockedBuffer, args ...string) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, bin, "serve"}, args...)...)
	cmd.Stdout = logBuf
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start provisiond: %v", err)
	}
	listening := make(chan string, 8)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			logBuf.Write(append(append([]byte(nil), sc.Bytes()...), '\n'))
			var rec struct{ Msg, Listener string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" {
				listening <- rec.Listener
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { <-scanned; exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // ip netns exec execs provisiond: same pid
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	want := map[string]bool{"boot": true, "admin": true, "dhcp": true, "tftp": true}
	deadline := time.After(startTimeout)
	for len(want) > 0 {
		select {
		case l := <-listening:
			delete(want, l)
		case err := <-exited:
			exited <- err
			t.Fatalf("provisiond exited before listening: %v\n%s", err, logBuf.String())
		case <-deadline:
			t.Fatalf("provisiond did not log its listeners within %s (missing %v)\n%s", startTimeout, want, logBuf.String())
		}
	}
}

// nbRouterAdverts sends an IPv6 router advertisement (router lifetime 0:
// no default route, no prefix) on the namespace's bridge every 500 ms until
// cleanup. Without one, Debian's iPXE waits about 15 s for IPv6
// autoconfiguration before it uses its DHCP answer (docs/netboot.md);
// with one, "Configuring" takes a second. Send errors (br0's link-local
// address still tentative) are ignored: the next one goes out.
func nbRouterAdverts(t *testing.T, ns string) {
	t.Helper()
	var fd, idx int
	err := inNetns(ns, func() error {
		ifi, err := net.InterfaceByName("br0")
		if err != nil {
			return err
		}
		idx = ifi.Index
		if fd, err = unix.Socket(unix.AF_INET6, unix.SOCK_RAW, unix.IPPROTO_ICMPV6); err != nil {
			return err
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, 255); err != nil {
			return err
		}
		return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, idx)
	})
	if err != nil {
		t.Fatalf("router advertisements in %s: %v", ns, err)
	}
	// Type 134, code 0, checksum (the kernel fills it in), hop limit 64,
	// flags 0, router lifetime 0, reachable time 0, retransmit timer 0.
	ra := []byte{134, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	dst := &unix.SockaddrInet6{Addr: [16]byte{0xff, 0x02, 15: 1}, ZoneId: uint32(idx)}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			_ = unix.Sendto(fd, ra, 0, dst)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done; unix.Close(fd) })
}

// nsHTTPClient returns a client whose connections are made inside the
// namespace: the socket is created by a thread that has joined it.
func nsHTTPClient(ns string) *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var conn net.Conn
		err := inNetns(ns, func() error {
			var err error
			conn, err = (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
			return err
		})
		return conn, err
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dial}}
}

// inNetns runs f on a thread that has joined network namespace ns, and
// brings the thread back (or lets it die with the goroutine if it cannot).
func inNetns(ns string, f func() error) error {
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return err
	}
	defer target.Close()
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	if err := setns(target.Fd()); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", ns, err)
	}
	ferr := f()
	// The thread goes back to its namespace before it is unlocked; if
	// that fails it stays locked, and dies with the goroutine.
	if err := setns(orig.Fd()); err == nil {
		runtime.UnlockOSThread()
	}
	return ferr
}

// setns moves the calling thread into the network namespace of fd.
func setns(fd uintptr) error { return unix.Setns(int(fd), unix.CLONE_NEWNET) }

// nbBoot runs one VM inside the namespace, on its tap, and checks its
// serial console with checkSerial.
func nbBoot(t *testing.T, ns, qemu, ovmfCode, ovmfVars string, vm nbMachine) {
	dir := t.TempDir()
	serial := filepath.Join(dir, "serial.log")
	nic := "virtio-net-pci,netdev=n0,mac=" + vm.mac
	args := []string{"netns", "exec", ns, qemu,
		"-nodefaults", "-accel", "tcg,thread=multi", "-cpu", "max", "-m", "512",
		"-nographic", "-vga", "none", "-monitor", "none",
		"-serial", "file:" + serial,
		"-no-reboot", "-boot", "order=n,reboot-timeout=1000",
		"-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no",
		"-uuid", vm.uuid,
	}
	if vm.fw == "uefi" {
		// No option ROM: OVMF's own VirtioNetDxe and PXE boot the NIC.
		nic += ",romfile="
		vars := filepath.Join(dir, "OVMF_VARS.fd")
		if err := copyFile(ovmfVars, vars); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-machine", "q35",
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+ovmfCode,
			"-drive", "if=pflash,format=raw,unit=1,file="+vars)
	}
	args = append(args, "-device", nic)

	ctx, cancel := context.WithTimeout(context.Background(), nbVMTimeout)
	defer cancel()
	var out lockedBuffer
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	raw, waitErr, gaveUp, elapsed := runVM(t, cmd, serial, vm.fw)
	log := cleanLog(raw)
	defer func() {
		if t.Failed() {
			t.Logf("ip %s\nqemu output:\n%s\nserial log:\n%s", strings.Join(args, " "), out.String(), log)
		}
	}()
	switch {
	case ctx.Err() != nil:
		t.Errorf("still running after %s: killed", nbVMTimeout)
	case gaveUp != "":
		t.Errorf("OVMF gave up network boot (%q in the log)", gaveUp)
	case waitErr != nil:
		t.Errorf("qemu: %v", waitErr)
	}
	t.Logf("%s %s: VM ran %s", vm.name, vm.fw, elapsed)
	if p := os.Getenv("PROVISIOND_E2E_LOG"); p != "" {
		_ = os.WriteFile(p+"."+vm.name+"-"+vm.fw+".serial", []byte(log), 0o644)
	}
	if vm.tftp != "" && !strings.Contains(log, "NBP file downloaded successfully") {
		t.Errorf("OVMF's PXE did not download the NBP (%s) over TFTP", vm.tftp)
	}
	checkSerial(t, vm.testMachine, vm.fw, log)
}

// nbCheckInventory waits until the admin API shows the machine configured,
// with an event for each wanted endpoint.
func nbCheckInventory(t *testing.T, c *http.Client, vm nbMachine, want []string) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		resp, err := c.Get("http://" + nbAdminAddr + "/api/v1/machines")
		if err != nil {
			last = err.Error()
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		var list []struct {
			MAC    string `json:"mac"`
			State  string `json:"state"`
			Events []struct {
				Endpoint string `json:"endpoint"`
			} `json:"events"`
		}
		if err := json.Unmarshal(body, &list); err != nil {
			last = fmt.Sprintf("%v: %s", err, body)
			continue
		}
		last = fmt.Sprintf("machine %s not listed: %s", vm.mac, body)
		for _, m := range list {
			if strings.ToLower(m.MAC) != vm.mac {
				continue
			}
			seen := map[string]bool{}
			for _, e := range m.Events {
				seen[e.Endpoint] = true
			}
			var missing []string
			for _, w := range want {
				if !seen[w] {
					missing = append(missing, w)
				}
			}
			if m.State == "configured" && len(missing) == 0 {
				return
			}
			last = fmt.Sprintf("machine %s: state %q, no event for %v (events %v)", vm.mac, m.State, missing, m.Events)
		}
	}
	t.Errorf("inventory: %s", last)
}
