//go:build e2e

package ipmi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/provisiond/provisiond/inventory"
)

const (
	lifeMAC    = "52:54:00:e2:1f:01"
	lifeSerial = "E2E-LIFECYCLE-0001"
	// waitInstall bounds one network install: firmware, iPXE, kernel,
	// the guest's fetches and its report (about 10 s under TCG).
	waitInstall = 150 * time.Second
)

// The catalog the test applies through the CLI: an install_once group
// whose installer is the e2e guest (e2e/init), told to report installed
// when it has fetched its Ignition, and metal1 registered with its BMC.
var lifeCatalog = map[string]string{
	"profiles/installer.json": `{
  "id": "installer",
  "boot": {
    "kernel": "{{.server.url}}/assets/vmlinuz",
    "initrd": ["--name initrd.cpio.gz {{.server.url}}/assets/initrd.cpio.gz"],
    "args": ["initrd=initrd.cpio.gz", "console=ttyS0", "panic=-1",
      "provisiond.url={{.server.url}}{{ if .boot_token }} provisiond.token={{.boot_token}}{{ end }}",
      "provisiond.report=installed"]
  },
  "ignition_id": "installer.yaml"
}`,
	"groups/install.json": `{"id": "install", "profile": "installer", "install_once": true, "selector": {"role": "metal"}}`,
	"ignition/installer.yaml": `variant: flatcar
version: 1.0.0
storage:
  files:
    - path: /etc/provisiond-installed
      contents:
        inline: installed by provisiond for {{ .request.query.mac }}
`,
	"machines/metal1.json": `{"name": "metal1", "mac": "` + lifeMAC + `", "labels": {"role": "metal"},
  "bmc": {"type": "ipmi", "address": "@BMC@", "username": "admin", "password_env": "METAL1_BMC_PASSWORD"}}`,
}

// life is a running provisiond serve and the CLI pointed at it.
type life struct {
	bin   string
	admin string
	boot  string
	mu    sync.Mutex
	log   bytes.Buffer
}

// cli runs `provisiond ARGS` against the server; it fails the test on an
// exit status other than 0.
func (l *life) cli(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(l.bin, args...)
	cmd.Env = append(os.Environ(), "PROVISIOND_SERVER=http://"+l.admin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("provisiond %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if strings.Contains(string(out), password) {
		t.Fatalf("provisiond %s printed the BMC password", strings.Join(args, " "))
	}
	return string(out)
}

// machine is `provisiond describe machine metal1 -o json`.
func (l *life) machine(t *testing.T) (m struct {
	State    inventory.State     `json:"state"`
	Hardware *inventory.Hardware `json:"hardware"`
	Events   []inventory.Event   `json:"events"`
	Changes  []inventory.Change  `json:"changes"`
}) {
	t.Helper()
	out := l.cli(t, "describe", "machine", "metal1", "-o", "json")
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("describe -o json: %v\n%s", err, out)
	}
	return m
}

// waitFor polls describe until ok holds.
func (l *life) waitFor(t *testing.T, what string, limit time.Duration, ok func(st inventory.State, events []inventory.Event) bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		m := l.machine(t)
		if ok(m.State, m.Events) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; state %s, events %+v", what, limit, m.State, m.Events)
		}
		time.Sleep(time.Second)
	}
}

// requests counts provisiond's request log lines for path.
func (l *life) requests(path string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.log.String(), `"path":"`+path+`"`)
}

// countEvents counts the events of endpoint with status 200 (and
// local_boot as given).
func countEvents(events []inventory.Event, endpoint string, localBoot bool) int {
	n := 0
	for _, e := range events {
		if e.Endpoint == endpoint && e.Status == 200 && e.LocalBoot == localBoot {
			n++
		}
	}
	return n
}

// startLife builds provisiond and the e2e guest, and runs provisiond serve
// with boot tokens on, the guest's kernel and initrd as its assets, and
// no catalog yet.
func startLife(t *testing.T) *life {
	t.Helper()
	wd, _ := os.Getwd()
	root := filepath.Join(wd, "..", "..")
	cache := os.Getenv("PROVISIOND_E2E_CACHE")
	if cache == "" {
		cache = filepath.Join(root, "e2e", ".cache")
	}
	if out, err := exec.Command("sh", filepath.Join(root, "e2e", "build-guest.sh"), cache).CombinedOutput(); err != nil {
		t.Fatalf("e2e/build-guest.sh %s: %v\n%s", cache, err, out)
	}
	tmp := t.TempDir()
	l := &life{bin: os.Getenv("PROVISIOND_E2E_BIN")}
	if l.bin == "" {
		l.bin = filepath.Join(tmp, "provisiond")
		cmd := exec.Command("go", "build", "-o", l.bin, "./cmd/provisiond")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build ./cmd/provisiond: %v\n%s", err, out)
		}
	}
	assets := filepath.Join(tmp, "assets")
	if err := os.MkdirAll(assets, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"vmlinuz", "initrd.cpio.gz"} {
		b, err := os.ReadFile(filepath.Join(cache, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(assets, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	secrets := filepath.Join(tmp, "boot-secrets")
	if err := os.WriteFile(secrets, []byte("e2e-lifecycle-boot-secret-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(l.bin, "serve", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--data-dir", filepath.Join(tmp, "data"), "--assets-dir", assets,
		"--boot-secret-file", secrets, "--bmc-timeout", "20s", "--log-format", "json")
	cmd.Env = append(os.Environ(), "METAL1_BMC_PASSWORD="+password)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan [2]string, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			l.mu.Lock()
			l.log.Write(line)
			l.log.WriteByte('\n')
			l.mu.Unlock()
			var rec struct{ Msg, Listener, Addr string }
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" {
				found <- [2]string{rec.Listener, rec.Addr}
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-done
		_ = cmd.Wait()
		l.mu.Lock()
		defer l.mu.Unlock()
		if strings.Contains(l.log.String(), password) {
			t.Errorf("provisiond logged the BMC password")
		}
		if t.Failed() {
			t.Logf("provisiond log:\n%s", l.log.String())
		}
	})
	for l.boot == "" || l.admin == "" {
		select {
		case f := <-found:
			if f[0] == "boot" {
				l.boot = f[1]
			} else if f[0] == "admin" {
				l.admin = f[1]
			}
		case <-time.After(60 * time.Second):
			t.Fatal("provisiond serve did not log both listeners within 60s")
		}
	}
	return l
}

// TestLifecycleEndToEnd is issue 16's proof. A QEMU VM behind ipmi_sim is
// driven only through provisiond's CLI against a real provisiond serve:
//
//  1. power on: the VM network-boots the installer of an install_once
//     group from provisiond; the guest fetches its Ignition with its boot
//     token and reports POST /installed (e2e/init, provisiond.report=);
//  2. power cycle: the VM asks /ipxe again and gets the local-boot script
//     ("exit"). The VM has no disk, so the firmware then has nothing left
//     to boot: this step is asserted from provisiond's side (the event,
//     the state, what render answers) and from the serial console (no
//     kernel was fetched);
//  3. reprovision: the BMC restarts the VM with the network first
//     (-boot order=n), the VM gets the installer again and reports
//     installed again;
//  4. describe shows the whole timeline.
func TestLifecycleEndToEnd(t *testing.T) {
	bins := need(t, "ipmi_sim", "qemu-system-x86_64", "go")
	l := startLife(t)
	_, bootPort, _ := strings.Cut(l.boot, ":")
	vm := strings.Join([]string{
		"-netdev", "user,id=n0,bootfile=http://10.0.2.2:" + bootPort + "/boot.ipxe",
		"-device", "virtio-net-pci,netdev=n0,mac=" + lifeMAC,
		"-smbios", "type=1,serial=" + lifeSerial,
	}, " ")
	s := startSimVM(t, bins, "512", vm)

	// The catalog, through the CLI.
	cat := t.TempDir()
	for name, body := range lifeCatalog {
		p := filepath.Join(cat, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(body, "@BMC@", s.addr)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("apply: %s", strings.TrimSpace(l.cli(t, "apply", "-f", cat)))

	// ipmi_sim takes a moment to listen.
	var status string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		cmd := exec.Command(l.bin, "power", "status", "metal1")
		cmd.Env = append(os.Environ(), "PROVISIOND_SERVER=http://"+l.admin)
		out, err := cmd.CombinedOutput()
		status = string(out)
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if status != "metal1: power off\n" {
		t.Fatalf("power status: %q", status)
	}

	// 1. Install.
	start := time.Now()
	l.cli(t, "power", "on", "metal1")
	order, pid1 := s.waitStart(t, 1)
	t.Logf("power on: the VM started with -boot order=%s (no disk: the firmware goes on to the NIC)", order)
	l.waitFor(t, "the first install", waitInstall, func(st inventory.State, ev []inventory.Event) bool { return st == inventory.Installed })
	waitDead(t, pid1) // the guest powers off after its report
	t.Logf("installed in %s", time.Since(start).Round(time.Second))
	if out := l.cli(t, "power", "status", "metal1"); out != "metal1: power off\n" {
		t.Errorf("after the install: %q", out)
	}
	m := l.machine(t)
	if m.Hardware == nil || m.Hardware.Serial != lifeSerial || m.Hardware.Arch == "" {
		t.Errorf("hardware facts %+v, want serial %s and an arch (from /boot.ipxe's chain)", m.Hardware, lifeSerial)
	}

	// 2. Installed: a power cycle gets the local-boot script.
	start = time.Now()
	l.cli(t, "power", "cycle", "metal1")
	order, pid2 := s.waitStart(t, 2)
	if order != "c" {
		t.Errorf("power cycle: order=%s, want c (no boot override)", order)
	}
	l.waitFor(t, "the local boot", waitInstall, func(st inventory.State, ev []inventory.Event) bool {
		return countEvents(ev, "/ipxe", true) == 1
	})
	t.Logf("local boot answered %s after the cycle", time.Since(start).Round(time.Second))
	if m := l.machine(t); m.State != inventory.Installed {
		t.Errorf("after the local boot: state %s, want installed", m.State)
	}
	if out := l.cli(t, "render", "ipxe", "--mac", lifeMAC); out != inventory.LocalBootIPXE {
		t.Errorf("render ipxe: %q, want the local-boot script %q", out, inventory.LocalBootIPXE)
	}
	// What the VM did with it: iPXE exited to the firmware, which, with
	// no disk, has nothing left to boot. From provisiond's side: no
	// kernel was fetched and nothing else was asked for a while.
	time.Sleep(5 * time.Second)
	if n := l.requests("/assets/vmlinuz"); n != 1 {
		t.Errorf("the kernel was fetched %d times by now, want once (the first install only)", n)
	}
	if m := l.machine(t); m.Events[len(m.Events)-1].Endpoint != "/ipxe" || !m.Events[len(m.Events)-1].LocalBoot {
		t.Errorf("after the local boot the machine asked again: last event %+v", m.Events[len(m.Events)-1])
	}

	// 3. Reprovision.
	start = time.Now()
	out := l.cli(t, "reprovision", "metal1", "--reason", "e2e reinstall")
	if out != "metal1: reprovisioning; next boot from the network, power cycled through its BMC\n" {
		t.Errorf("reprovision: %q", out)
	}
	order, pid3 := s.waitStart(t, 3)
	if order != "n" || pid3 == pid2 || alive(pid2) {
		t.Errorf("reprovision: VM start order=%s pid %d (before: %d, alive %v); want order=n and a new VM", order, pid3, pid2, alive(pid2))
	}
	l.waitFor(t, "the reinstall", waitInstall, func(st inventory.State, ev []inventory.Event) bool {
		return st == inventory.Installed && countEvents(ev, inventory.EndpointInstalled, false) == 2
	})
	waitDead(t, pid3)
	t.Logf("reinstalled in %s", time.Since(start).Round(time.Second))
	if n := l.requests("/assets/vmlinuz"); n != 2 {
		t.Errorf("the kernel was fetched %d times, want twice (two installs)", n)
	}

	// 4. The timeline.
	m = l.machine(t)
	var changes []string
	for _, c := range m.Changes {
		changes = append(changes, fmt.Sprintf("%s(%s)", c.To, c.Cause))
	}
	want := "booting(/ipxe) configured(/ignition) installed(/installed) reprovisioning(operator: e2e reinstall) booting(/ipxe) configured(/ignition) installed(/installed)"
	if got := strings.Join(changes, " "); got != want {
		t.Errorf("timeline:\n got %s\nwant %s", got, want)
	}
	t.Logf("provisiond describe machine metal1:\n%s", l.cli(t, "describe", "machine", "metal1"))
	t.Logf("VM starts and stops: %s", strings.Join(s.starts(), " "))
}
