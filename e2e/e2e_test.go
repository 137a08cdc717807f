//go:build e2e

// The firmware end-to-end test: see doc.go and README.md.
// Run with: go test -tags e2e -count=1 -v ./e2e/

package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// vmTimeout bounds one VM from start to power-off. A healthy boot takes
	// about 8 s (BIOS) or 13 s (UEFI) under TCG on one core.
	vmTimeout = 120 * time.Second
	// startTimeout bounds provisiond's start (until both listeners are logged).
	startTimeout = 30 * time.Second

	poolName  = "e2e"
	poolStart = "10.0.2.100"
	poolEnd   = "10.0.2.150"
	poolGW    = "10.0.2.2"

	installHint = "apt-get install -y --no-install-recommends qemu-system-x86 ipxe-qemu ovmf busybox-static cpio"
)

// testMachine is one of the machines registered in testdata/catalog/machines.
type testMachine struct {
	name, mac, uuid, role string
}

var (
	node1   = testMachine{"node1", "52:54:00:e2:e0:01", "6b3c2a1e-0e2e-4d5a-9c01-e2e000000001", "services"}
	worker1 = testMachine{"worker1", "52:54:00:e2:e0:02", "6b3c2a1e-0e2e-4d5a-9c01-e2e000000002", "worker"}
)

var firmwares = []string{"bios", "uefi"}

// env is what every VM subtest shares.
type env struct {
	qemu      string
	ovmfCode  string // empty when OVMF is not installed
	ovmfVars  string
	bootURL   string // as the guest sees it: http://10.0.2.2:PORT/boot.ipxe
	adminURL  string // http://127.0.0.1:PORT
	serverLog *lockedBuffer
}

// bootResult is what one VM showed on its serial console.
type bootResult struct {
	addr     netip.Addr // leased address, from the kernel command line
	ignition string
	metadata string
}

func TestFirmwareBoot(t *testing.T) {
	e := setup(t)

	var mu sync.Mutex
	results := map[string]*bootResult{} // "name/firmware" -> result

	for _, m := range []testMachine{node1, worker1} {
		// node1 boots first (both firmwares at once), then worker1: node1
		// takes the pool's first address and is a registered, leased
		// services member by the time the worker's Ignition lists etcd.
		t.Run(m.role, func(t *testing.T) {
			for _, fw := range firmwares {
				t.Run(fw, func(t *testing.T) {
					t.Parallel()
					r := e.boot(t, m, fw)
					if r != nil {
						mu.Lock()
						results[m.name+"/"+fw] = r
						mu.Unlock()
					}
				})
			}
		})

		// Both firmwares booted the same machine: same lease.
		var addr netip.Addr
		for _, fw := range firmwares {
			r := results[m.name+"/"+fw]
			if r == nil {
				continue
			}
			if addr.IsValid() && r.addr != addr {
				t.Errorf("%s got %s under one firmware and %s under the other: a machine must keep its lease", m.name, addr, r.addr)
			}
			addr = r.addr
		}
		if addr.IsValid() {
			e.checkInventory(t, m, addr)
		}
	}

	a, b := results[node1.name+"/bios"], results[worker1.name+"/bios"]
	if a == nil {
		a = results[node1.name+"/uefi"]
	}
	if b == nil {
		b = results[worker1.name+"/uefi"]
	}
	if a != nil && b != nil && a.addr == b.addr {
		t.Errorf("%s and %s both got %s", node1.name, worker1.name, a.addr)
	}
	e.checkTokenRequired(t)
}

// checkTokenRequired: the guests fetched their configs with their boot
// tokens; the same fetch without one is refused.
func (e *env) checkTokenRequired(t *testing.T) {
	t.Helper()
	boot := strings.Replace(strings.TrimSuffix(e.bootURL, "/boot.ipxe"), "10.0.2.2", "127.0.0.1", 1)
	for _, path := range []string{"/ignition", "/metadata"} {
		resp, err := http.Get(boot + path + "?mac=" + node1.mac)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s without a boot token: %d, want 403", path, resp.StatusCode)
		}
	}
	// Exactly the two refusals just provoked, and none of the guests'
	// fetches. provisiond's log reaches the buffer through a pipe, so wait
	// for the second line before counting.
	refused := func() int { return strings.Count(e.serverLog.String(), `"msg":"boot token refused"`) }
	for deadline := time.Now().Add(5 * time.Second); refused() < 2 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := refused(); n != 2 {
		t.Errorf("%d boot token refusals in the log, want the 2 provoked here (a guest's config fetch was refused for its token?):\n%s", n, e.serverLog.String())
	}
}

// ---------------------------------------------------------------- setup

func setup(t *testing.T) *env {
	t.Helper()
	ci := os.Getenv("CI") == "true"

	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		if ci {
			t.Fatalf("qemu-system-x86_64 not found and CI=true: install it (%s)", installHint)
		}
		t.Skipf("qemu-system-x86_64 not found: skipping the firmware end-to-end test (install: %s)", installHint)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(wd)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found above %s: %v", wd, err)
	}
	cache := os.Getenv("PROVISIOND_E2E_CACHE")
	if cache == "" {
		cache = filepath.Join(wd, ".cache")
	}
	if cache, err = filepath.Abs(cache); err != nil {
		t.Fatal(err)
	}

	e := &env{qemu: qemu, serverLog: &lockedBuffer{}}
	e.ovmfCode, e.ovmfVars = findOVMF()

	tmp := t.TempDir()
	bin := filepath.Join(tmp, "provisiond")
	prebuilt := os.Getenv("PROVISIOND_E2E_BIN") // a provisiond binary to use instead of building one

	// The guest and the server build at the same time.
	var wg sync.WaitGroup
	var guestErr, buildErr error
	var guestOut, buildOut []byte
	wg.Add(2)
	go func() {
		defer wg.Done()
		start := time.Now()
		cmd := exec.Command("sh", filepath.Join(wd, "build-guest.sh"), cache)
		guestOut, guestErr = cmd.CombinedOutput()
		t.Logf("build-guest.sh: %s", time.Since(start).Round(time.Millisecond))
	}()
	go func() {
		defer wg.Done()
		if prebuilt != "" {
			bin, buildErr = filepath.Abs(prebuilt)
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("go not found in PATH: %w", err)
			return
		}
		start := time.Now()
		cmd := exec.Command(goTool, "build", "-o", bin, "./cmd/provisiond")
		cmd.Dir = root
		buildOut, buildErr = cmd.CombinedOutput()
		t.Logf("go build ./cmd/provisiond: %s", time.Since(start).Round(time.Millisecond))
	}()
	wg.Wait()
	if guestErr != nil {
		t.Fatalf("e2e/build-guest.sh %s: %v\n%s", cache, guestErr, guestOut)
	}
	if buildErr != nil {
		t.Fatalf("go build ./cmd/provisiond: %v\n%s", buildErr, buildOut)
	}

	// Only the two boot files go into the assets directory.
	assets := filepath.Join(tmp, "assets")
	for _, name := range []string{"vmlinuz", "initrd.cpio.gz"} {
		if err := copyFile(filepath.Join(cache, name), filepath.Join(assets, name)); err != nil {
			t.Fatalf("assets: %v", err)
		}
	}
	catalog := filepath.Join(tmp, "catalog")
	if err := os.CopyFS(catalog, os.DirFS(filepath.Join(wd, "testdata", "catalog"))); err != nil {
		t.Fatalf("copy catalog: %v", err)
	}
	data := filepath.Join(tmp, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}

	bootAddr, adminAddr := e.startServer(t, bin, catalog, assets, data)
	_, bootPort, _ := strings.Cut(bootAddr, ":")
	e.bootURL = "http://10.0.2.2:" + bootPort + "/boot.ipxe"
	e.adminURL = "http://" + adminAddr
	waitReady(t, "http://"+bootAddr)
	return e
}

func findOVMF() (code, vars string) {
	if c, v := os.Getenv("PROVISIOND_E2E_OVMF_CODE"), os.Getenv("PROVISIOND_E2E_OVMF_VARS"); c != "" && v != "" {
		return c, v
	}
	for _, p := range [][2]string{
		{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"},
		{"/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"},
	} {
		if fileExists(p[0]) && fileExists(p[1]) {
			return p[0], p[1]
		}
	}
	return "", ""
}

// startServer runs provisiond serve and returns its boot and admin
// addresses, read from its JSON log ("msg":"listening").
func (e *env) startServer(t *testing.T, bin, catalog, assets, data string) (boot, admin string) {
	t.Helper()
	// Boot tokens on: the guest fetches its configs with the token its
	// kernel command line carries (provisiond.token=), as Ignition would
	// with ignition.config.url; TestFirmwareBoot checks that a fetch
	// without it is refused.
	secrets := filepath.Join(data, "boot-secrets")
	if err := os.WriteFile(secrets, []byte("e2e-boot-secret-0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve",
		"--addr", "127.0.0.1:0",
		"--admin-addr", "127.0.0.1:0",
		"--catalog", catalog,
		"--assets-dir", assets,
		"--data-dir", data,
		"--boot-secret-file", secrets,
		"--boot-token-ttl", "10m",
		"--log-format", "json")
	cmd.Stdout = e.serverLog
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start provisiond: %v", err)
	}

	type listener struct{ name, addr string }
	found := make(chan listener, 8)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Bytes()
			e.serverLog.Write(append(append([]byte(nil), line...), '\n'))
			var rec struct {
				Msg      string `json:"msg"`
				Listener string `json:"listener"`
				Addr     string `json:"addr"`
			}
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" && rec.Addr != "" {
				select {
				case found <- listener{rec.Listener, rec.Addr}:
				default:
				}
			}
		}
	}()
	exited := make(chan error, 1)
	go func() {
		<-scanned // Wait closes the pipe: read everything first
		exited <- cmd.Wait()
	}()

	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("provisiond log:\n%s", e.serverLog.String())
		}
	})

	deadline := time.After(startTimeout)
	for boot == "" || admin == "" {
		select {
		case l := <-found:
			switch l.name {
			case "boot":
				boot = l.addr
			case "admin":
				admin = l.addr
			}
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("provisiond exited before listening: %v\n%s", err, e.serverLog.String())
		case <-deadline:
			t.Fatalf("provisiond did not log both listeners (boot=%q admin=%q) within %s\n%s",
				boot, admin, startTimeout, e.serverLog.String())
		}
	}
	t.Logf("provisiond: boot %s, admin %s", boot, admin)
	return boot, admin
}

// waitReady waits for /readyz unless provisiond answers that it has none.
func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("provisiond not ready at %s/readyz: %v", base, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---------------------------------------------------------------- one VM

var (
	ansiRE     = regexp.MustCompile(`\x1b(\[[0-9;?=]*[A-Za-z]|[A-Za-z])`)
	markerRE   = regexp.MustCompile(`=== provisiond-e2e ([a-z]+): (.*?) ===`)
	leasedRE   = regexp.MustCompile(`=== provisiond-e2e leased: (\S+) gateway (\S+) ===`)
	clusterRE  = regexp.MustCompile(`--initial-cluster=([^\s"]+)`)
	endpointRE = regexp.MustCompile(`(?m)^etcd_endpoints=(.*)$`)
)

// boot runs one VM to power-off and checks what it printed. It returns nil
// when the VM did not get as far as a leased address.
func (e *env) boot(t *testing.T, m testMachine, fw string) *bootResult {
	dir := t.TempDir()
	serial := filepath.Join(dir, "serial.log")
	args := []string{
		"-nodefaults", // no CD-ROM: the NIC is the only boot device (OVMF's Boot0001)
		"-accel", "tcg,thread=multi", "-cpu", "max", "-m", "512",
		"-nographic", "-vga", "none", "-monitor", "none",
		"-serial", "file:" + serial,
		"-no-reboot", "-boot", "order=n,reboot-timeout=1000",
		"-netdev", "user,id=n0,bootfile=" + e.bootURL,
		"-device", "virtio-net-pci,netdev=n0,mac=" + m.mac,
		"-uuid", m.uuid,
	}
	if fw == "uefi" {
		if e.ovmfCode == "" {
			t.Fatalf("OVMF not found under /usr/share/OVMF (install: %s; or set PROVISIOND_E2E_OVMF_CODE and _VARS)", installHint)
		}
		vars := filepath.Join(dir, "OVMF_VARS.fd")
		if err := copyFile(e.ovmfVars, vars); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-machine", "q35",
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+e.ovmfCode,
			"-drive", "if=pflash,format=raw,unit=1,file="+vars)
	}

	ctx, cancel := context.WithTimeout(context.Background(), vmTimeout)
	defer cancel()
	var qemuOut lockedBuffer
	cmd := exec.CommandContext(ctx, e.qemu, args...)
	cmd.Stdout, cmd.Stderr = &qemuOut, &qemuOut
	cmd.WaitDelay = 5 * time.Second

	var log string
	defer func() {
		if t.Failed() {
			t.Logf("qemu %s\nqemu output:\n%s\nserial log (%s %s):\n%s",
				strings.Join(args, " "), qemuOut.String(), m.name, fw, log)
		}
	}()

	raw, waitErr, gaveUp, elapsed := runVM(t, cmd, serial, fw)
	log = cleanLog(raw)

	switch {
	case ctx.Err() != nil:
		t.Errorf("%s %s: still running after %s: killed", m.name, fw, vmTimeout)
	case gaveUp != "":
		t.Errorf("%s %s: OVMF gave up network boot (%q in the log)", m.name, fw, gaveUp)
	case waitErr != nil:
		t.Errorf("%s %s: qemu: %v", m.name, fw, waitErr)
	}
	t.Logf("%s %s: VM ran %s", m.name, fw, elapsed)

	return checkSerial(t, m, fw, log)
}

// checkSerial asserts on the VM's serial console. It returns nil when there
// is no leased address to report.
func checkSerial(t *testing.T, m testMachine, fw, log string) *bootResult {
	// Stage by stage, so that a failure names the first thing that went
	// wrong instead of everything after it.
	initrdHint := ""
	if fw == "uefi" && !strings.Contains(log, "EFI stub: Loaded initrd") {
		initrdHint = " (the EFI stub loaded no initrd: kernel arg initrd=NAME must match iPXE's initrd --name NAME)"
	}
	// iPXE prints "URL... ok", or, for a download slow enough to show
	// progress, "URL... 84%<backspaces> ok" on the same line.
	fetched := func(path string) string { return regexp.QuoteMeta(path) + `\.\.\.[^\n]* ok` }
	for _, stage := range []struct{ want, problem string }{
		{"Open Source Network Boot Firmware", "no iPXE banner: the firmware did not run iPXE"},
		{fetched("/boot.ipxe"), "iPXE did not fetch /boot.ipxe from provisiond"},
		{fetched("/assets/vmlinuz"), "iPXE did not fetch the kernel from /assets (see provisiond's /ipxe answer)"},
		{fetched("/assets/initrd.cpio.gz"), "iPXE did not fetch the initrd from /assets (see provisiond's /ipxe answer)"},
		{"=== provisiond-e2e init started ===", "the kernel did not run the initrd's /init" + initrdHint},
	} {
		if !regexp.MustCompile(stage.want).MatchString(log) {
			t.Errorf("%s (no %q on the console)", stage.problem, stage.want)
			return nil
		}
	}

	markers := map[string]string{}
	for _, mm := range markerRE.FindAllStringSubmatch(log, -1) {
		markers[mm[1]] = mm[2]
	}
	if reason, ok := markers["failed"]; ok {
		t.Errorf("the guest's /init failed: %s", reason)
		return nil
	}
	if !strings.Contains(log, "=== provisiond-e2e done ===") {
		t.Errorf("the guest did not finish (no %q)", "=== provisiond-e2e done ===")
	}
	if got := markers["mac"]; got != m.mac {
		t.Errorf("guest MAC %q, want %q", got, m.mac)
	}

	// The lease, rendered by provisiond into the kernel command line.
	lm := leasedRE.FindStringSubmatch(log)
	if lm == nil {
		t.Errorf("no provisiond.ip= on the kernel command line (network: %q): the profile's boot args did not carry the lease", markers["network"])
		return nil
	}
	prefix, err := netip.ParsePrefix(lm[1])
	if err != nil {
		t.Errorf("provisiond.ip=%q: %v", lm[1], err)
		return nil
	}
	addr := prefix.Addr()
	first, last := netip.MustParseAddr(poolStart), netip.MustParseAddr(poolEnd)
	if addr.Less(first) || last.Less(addr) || prefix.Bits() != 24 {
		t.Errorf("leased %s, want an address in %s-%s/24", prefix, poolStart, poolEnd)
	}
	if lm[2] != poolGW {
		t.Errorf("provisiond.gw=%s, want %s", lm[2], poolGW)
	}
	if m == node1 && addr.String() != poolStart {
		t.Errorf("%s (the first machine to boot) leased %s, want the pool's first address %s", m.name, addr, poolStart)
	}
	if markers["network"] != "static" {
		t.Errorf("guest network %q, want static", markers["network"])
	}
	if got := markers["address"]; !strings.Contains(got, "inet "+prefix.String()+" ") {
		t.Errorf("eth0 shows %q, want inet %s", got, prefix)
	}

	r := &bootResult{addr: addr}

	// Ignition.
	ign, ok := section(log, "ignition")
	if !ok {
		t.Errorf("no Ignition section on the console")
	} else {
		r.ignition = ign
		checkIgnition(t, m, addr, ign)
	}

	// Metadata: .ip.address flattened to IP_ADDRESS=.
	md, ok := section(log, "metadata")
	if !ok {
		t.Errorf("no metadata section on the console")
	} else {
		r.metadata = md
		n := 0
		for _, line := range strings.Split(md, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "IP_ADDRESS="); ok {
				n++
				if v != addr.String() {
					t.Errorf("metadata IP_ADDRESS=%s, want %s", v, addr)
				}
			}
		}
		if n == 0 {
			t.Errorf("metadata has no IP_ADDRESS= line:\n%s", md)
		}
	}
	return r
}

func checkIgnition(t *testing.T, m testMachine, addr netip.Addr, ign string) {
	files, all, err := decodeIgnition([]byte(ign))
	if err != nil {
		t.Errorf("Ignition: %v\n%s", err, ign)
		return
	}
	marker, ok := files["/etc/provisiond-e2e"]
	if !ok {
		t.Errorf("Ignition has no /etc/provisiond-e2e:\n%s", ign)
	}
	for _, want := range []string{"name=" + m.name + "\n", "address=" + addr.String() + "\n", "role=" + m.role + "\n"} {
		if !strings.Contains(marker, want) {
			t.Errorf("Ignition /etc/provisiond-e2e lacks %q:\n%s", strings.TrimSpace(want), marker)
		}
	}
	switch m.role {
	case "services":
		// node1 is the only registered services machine.
		want := node1.name + "=http://" + poolStart + ":2380"
		cm := clusterRE.FindStringSubmatch(all)
		if cm == nil {
			t.Errorf("Ignition has no --initial-cluster=:\n%s", all)
		} else if cm[1] != want {
			t.Errorf("--initial-cluster=%s, want --initial-cluster=%s", cm[1], want)
		}
	case "worker":
		want := "http://" + poolStart + ":2379"
		em := endpointRE.FindStringSubmatch(marker)
		if em == nil {
			t.Errorf("Ignition /etc/provisiond-e2e has no etcd_endpoints=:\n%s", marker)
		} else if em[1] != want {
			t.Errorf("etcd_endpoints=%s, want %s", em[1], want)
		}
		if !strings.Contains(all, "--endpoints="+poolStart+":2379") {
			t.Errorf("Ignition's etcd gateway lacks --endpoints=%s:2379:\n%s", poolStart, all)
		}
	}
}

// ---------------------------------------------------------------- inventory

func (e *env) checkInventory(t *testing.T, m testMachine, addr netip.Addr) {
	t.Helper()
	var last string
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, desc := e.inventoryOnce(m, addr)
		if ok {
			return
		}
		last = desc
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("inventory: %s", last)
}

func (e *env) inventoryOnce(m testMachine, addr netip.Addr) (bool, string) {
	resp, err := http.Get(e.adminURL + "/api/v1/machines")
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Sprintf("GET /api/v1/machines: %s: %s", resp.Status, body)
	}
	var list []map[string]any
	if err := json.Unmarshal(body, &list); err != nil {
		return false, fmt.Sprintf("GET /api/v1/machines: not a JSON array of objects: %v: %s", err, body)
	}
	for _, o := range list {
		mac, _ := o["mac"].(string)
		if strings.ToLower(mac) != m.mac {
			continue
		}
		var problems []string
		if name, _ := o["name"].(string); name != m.name {
			problems = append(problems, fmt.Sprintf("name %q, want %q", name, m.name))
		}
		if state, _ := o["state"].(string); state != "configured" {
			problems = append(problems, fmt.Sprintf("state %q, want \"configured\"", state))
		}
		if uuid, _ := o["uuid"].(string); uuid != "" && strings.ToLower(uuid) != m.uuid {
			problems = append(problems, fmt.Sprintf("uuid %q, want %q", uuid, m.uuid))
		}
		leases, _ := o["leases"].(map[string]any)
		got, _ := leases[poolName].(string)
		got, _, _ = strings.Cut(got, "/")
		if got != addr.String() {
			problems = append(problems, fmt.Sprintf("leases[%q] = %v, want %s (leases: %v)", poolName, leases[poolName], addr, o["leases"]))
		}
		if len(problems) == 0 {
			return true, ""
		}
		return false, fmt.Sprintf("machine %s: %s\n%s", m.mac, strings.Join(problems, "; "), body)
	}
	return false, fmt.Sprintf("machine %s not in GET /api/v1/machines: %s", m.mac, body)
}

// ---------------------------------------------------------------- helpers

// cleanLog drops carriage returns and terminal escapes from a serial log.
func cleanLog(raw []byte) string {
	s := strings.ReplaceAll(string(raw), "\r", "")
	return ansiRE.ReplaceAllString(s, "")
}

// section returns the text between the guest's begin and end markers.
func section(log, name string) (string, bool) {
	begin := "=== provisiond-e2e " + name + " begin ===\n"
	end := "=== provisiond-e2e " + name + " end ==="
	_, rest, ok := strings.Cut(log, begin)
	if !ok {
		return "", false
	}
	body, _, ok := strings.Cut(rest, end)
	if !ok {
		return "", false
	}
	return strings.TrimRight(body, "\n"), true
}

// decodeIgnition parses an Ignition 3.x config and returns its files'
// decoded contents by path, and every file, unit and drop-in text joined.
func decodeIgnition(raw []byte) (map[string]string, string, error) {
	var doc struct {
		Ignition struct {
			Version string `json:"version"`
		} `json:"ignition"`
		Storage struct {
			Files []struct {
				Path     string `json:"path"`
				Contents struct {
					Source      *string `json:"source"`
					Compression *string `json:"compression"`
				} `json:"contents"`
			} `json:"files"`
		} `json:"storage"`
		Systemd struct {
			Units []struct {
				Name     string  `json:"name"`
				Contents *string `json:"contents"`
				Dropins  []struct {
					Name     string  `json:"name"`
					Contents *string `json:"contents"`
				} `json:"dropins"`
			} `json:"units"`
		} `json:"systemd"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, "", fmt.Errorf("not JSON: %w", err)
	}
	if !strings.HasPrefix(doc.Ignition.Version, "3.") {
		return nil, "", fmt.Errorf("ignition.version %q, want 3.x", doc.Ignition.Version)
	}
	files := map[string]string{}
	var all []string
	for _, f := range doc.Storage.Files {
		if f.Contents.Source == nil {
			continue
		}
		b, err := decodeDataURL(*f.Contents.Source)
		if err != nil {
			return nil, "", fmt.Errorf("file %s: %w", f.Path, err)
		}
		if f.Contents.Compression != nil && *f.Contents.Compression == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, "", fmt.Errorf("file %s: %w", f.Path, err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				return nil, "", fmt.Errorf("file %s: %w", f.Path, err)
			}
		}
		files[f.Path] = string(b)
		all = append(all, "# file "+f.Path+"\n"+string(b))
	}
	for _, u := range doc.Systemd.Units {
		if u.Contents != nil {
			all = append(all, "# unit "+u.Name+"\n"+*u.Contents)
		}
		for _, d := range u.Dropins {
			if d.Contents != nil {
				all = append(all, "# drop-in "+u.Name+"/"+d.Name+"\n"+*d.Contents)
			}
		}
	}
	return files, strings.Join(all, "\n"), nil
}

// decodeDataURL decodes an RFC 2397 data URL (the form Butane emits for
// inline contents).
func decodeDataURL(src string) ([]byte, error) {
	rest, ok := strings.CutPrefix(src, "data:")
	if !ok {
		return nil, fmt.Errorf("source %.40q is not a data URL", src)
	}
	meta, data, ok := strings.Cut(rest, ",")
	if !ok {
		return nil, errors.New("data URL without a comma")
	}
	if strings.HasSuffix(meta, ";base64") {
		return base64.StdEncoding.DecodeString(data)
	}
	s, err := url.PathUnescape(data)
	return []byte(s), err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// lockedBuffer is an io.Writer safe for concurrent use.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runVM starts a QEMU command and waits for it to exit, stopping a UEFI VM
// early once OVMF has given up the network boot (it does not power off but
// tries the next boot option and ends in its shell). It returns the serial
// log, qemu's exit error, what OVMF gave up with ("" if it did not) and how
// long the VM ran.
func runVM(t *testing.T, cmd *exec.Cmd, serial, fw string) (raw []byte, waitErr error, gaveUp string, elapsed time.Duration) {
	t.Helper()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start qemu: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case waitErr = <-done:
			break wait
		case <-tick.C:
			if fw != "uefi" || gaveUp != "" {
				continue
			}
			log, _ := os.ReadFile(serial)
			for _, s := range []string{"BdsDxe: failed to load Boot", "EFI Internal Shell"} {
				if bytes.Contains(log, []byte(s)) {
					gaveUp = s
					_ = cmd.Process.Kill()
					break
				}
			}
		}
	}
	elapsed = time.Since(start).Round(100 * time.Millisecond)
	raw, err := os.ReadFile(serial)
	if err != nil {
		t.Fatalf("serial log: %v", err)
	}
	return raw, waitErr, gaveUp, elapsed
}
