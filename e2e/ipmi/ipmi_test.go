//go:build e2e

package ipmi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/provisiond/provisiond/bmc"
)

const (
	installHint = "apt-get install -y --no-install-recommends openipmi ipmitool qemu-system-x86"
	password    = "e2e-bmc-s3cret"
	// waitVM bounds the wait for the VM to start or stop after a command.
	waitVM = 60 * time.Second
)

// sim is an ipmi_sim with its VM.
type sim struct {
	dir  string
	addr string // the LAN address, 127.0.0.1:port
}

func need(t *testing.T, bins ...string) map[string]string {
	t.Helper()
	paths := map[string]string{}
	for _, b := range bins {
		p, err := exec.LookPath(b)
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found and CI=true: install it (%s)", b, installHint)
			}
			t.Skipf("%s not found: skipping the IPMI end-to-end test (install: %s)", b, installHint)
		}
		paths[b] = p
	}
	return paths
}

// freePort returns a port that was free a moment ago.
func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startSim writes ipmi_sim's configuration and chassis script into a
// temporary directory and starts it; the cleanup stops it and the VM. The
// VM has 64 MiB and no NIC.
func startSim(t *testing.T, bins map[string]string) *sim {
	t.Helper()
	return startSimVM(t, bins, "64", "")
}

// startSimVM is startSim with the VM's memory (MiB) and more QEMU
// arguments (no spaces within one).
func startSimVM(t *testing.T, bins map[string]string, mem, vmArgs string) *sim {
	t.Helper()
	dir := t.TempDir()
	lan, serial := freePort(t, "udp"), freePort(t, "tcp")
	repl := strings.NewReplacer("@DIR@", dir, "@QEMU@", bins["qemu-system-x86_64"],
		"@LANPORT@", strconv.Itoa(lan), "@SERIALPORT@", strconv.Itoa(serial), "@PASSWORD@", password,
		"@MEM@", mem, "@VMARGS@", vmArgs)
	for name, mode := range map[string]os.FileMode{"lan.conf": 0o600, "sim.emu": 0o600, "chassis-control.sh": 0o700} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(repl.Replace(string(b))), mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "state"), 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "ipmi_sim.out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bins["ipmi_sim"], "-n", "-c", filepath.Join(dir, "lan.conf"), "-f", filepath.Join(dir, "sim.emu"), "-s", filepath.Join(dir, "state"))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &sim{dir: dir, addr: fmt.Sprintf("127.0.0.1:%d", lan)}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		out.Close()
		if pid := s.pid(); pid > 0 && alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if t.Failed() {
			for _, f := range []string{"ipmi_sim.out", "chassis.log", "starts", "qemu.out"} {
				b, _ := os.ReadFile(filepath.Join(dir, f))
				t.Logf("%s:\n%s", f, b)
			}
		}
	})
	return s
}

// pid is the running VM's pid from QEMU's pidfile, 0 when there is none.
func (s *sim) pid() int {
	b, err := os.ReadFile(filepath.Join(s.dir, "qemu.pid"))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// alive reports whether pid is a running process. A zombie is not: QEMU
// runs detached (-daemonize), so a stopped VM waits for whichever process
// reaps orphans here, and on some machines (a container whose PID 1 reaps
// late) it stays a zombie for a while after it died.
func alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses, which may itself
	// hold spaces and parentheses.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		switch s[i+2] {
		case 'Z', 'X', 'x':
			return false
		}
	}
	return true
}

// starts returns the lines "start order=X pid=N" and "stop pid=N" the
// chassis script wrote.
func (s *sim) starts() []string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "starts"))
	return strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(b)), " ", "_"))
}

// waitStart waits for the n-th start of the VM and returns its boot order
// and pid, after checking that the process runs with that order.
func (s *sim) waitStart(t *testing.T, n int) (order string, pid int) {
	t.Helper()
	deadline := time.Now().Add(waitVM)
	for time.Now().Before(deadline) {
		var starts []string
		for _, l := range s.starts() {
			if strings.HasPrefix(l, "start_") {
				starts = append(starts, l)
			}
		}
		if len(starts) >= n {
			var o string
			var p int
			if _, err := fmt.Sscanf(strings.ReplaceAll(starts[n-1], "_", " "), "start order=%s pid=%d", &o, &p); err != nil {
				t.Fatalf("start line %q: %v", starts[n-1], err)
			}
			if !alive(p) {
				t.Fatalf("VM start %d (pid %d) is not running", n, p)
			}
			cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
			if err != nil || !strings.Contains(string(cmdline), "order="+o+"\x00") {
				t.Fatalf("VM pid %d: command line %q does not boot with order=%s (%v)", p, cmdline, o, err)
			}
			return o, p
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the VM was not started a %d. time within %s; starts: %v", n, waitVM, s.starts())
	return "", 0
}

func waitDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(waitVM)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("VM pid %d still running %s after power off", pid, waitVM)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestIPMIPowerAndBootDevice drives ipmi_sim only through package bmc and
// checks the VM behind it: power status, on, boot device network once,
// cycle (the VM restarts from the network), cycle again (the override was
// for one boot: from the disk), off, and reprovisioning's netboot-and-cycle
// of a machine that is off.
func TestIPMIPowerAndBootDevice(t *testing.T) {
	bins := need(t, "ipmi_sim", "qemu-system-x86_64")
	s := startSim(t, bins)
	c := &bmc.Controller{
		Timeout: 30 * time.Second,
		Passwords: bmc.Source{LookupEnv: func(k string) (string, bool) {
			return map[string]string{"BMC_PW": password, "BAD_PW": "guess"}[k], true
		}},
	}
	cfg := bmc.Config{Type: bmc.IPMI, Address: s.addr, Username: "admin", PasswordEnv: "BMC_PW"}
	ctx := t.Context()

	// ipmi_sim takes a moment to listen.
	var st bmc.PowerState
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; {
		if st, err = c.Power(ctx, cfg, bmc.Status); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil || st != bmc.PowerOff {
		t.Fatalf("first status: %q, %v", st, err)
	}

	bad := cfg
	bad.PasswordEnv = "BAD_PW"
	if _, err := c.Power(ctx, bad, bmc.On); !errors.Is(err, bmc.ErrCredentials) {
		t.Fatalf("wrong password: %v, want bmc.ErrCredentials", err)
	}
	if len(s.starts()) != 0 {
		t.Fatal("a wrong password started the VM")
	}

	step := func(name string, f func() error) {
		t.Helper()
		start := time.Now()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %s", name, time.Since(start).Round(time.Millisecond))
	}
	power := func(op bmc.Op) func() error {
		return func() error { _, err := c.Power(ctx, cfg, op); return err }
	}

	step("power on", power(bmc.On))
	order, pid1 := s.waitStart(t, 1)
	if order != "c" {
		t.Errorf("first start: order=%s, want c (no boot override)", order)
	}
	if st, err := c.Power(ctx, cfg, bmc.Status); err != nil || st != bmc.PowerOn {
		t.Fatalf("status after on: %q, %v", st, err)
	}

	step("boot device network, once", func() error { return c.SetBootDevice(ctx, cfg, bmc.Network, false) })
	step("power cycle", power(bmc.Cycle))
	order, pid2 := s.waitStart(t, 2)
	if order != "n" {
		t.Errorf("after network once and a cycle: order=%s, want n", order)
	}
	if pid2 == pid1 || alive(pid1) {
		t.Errorf("the cycle did not stop the first VM (pid %d, new pid %d)", pid1, pid2)
	}

	step("power cycle again", power(bmc.Cycle))
	order, pid3 := s.waitStart(t, 3)
	if order != "c" {
		t.Errorf("the network override outlived its one boot: order=%s", order)
	}

	step("power off", power(bmc.Off))
	waitDead(t, pid3)
	if st, err := c.Power(ctx, cfg, bmc.Status); err != nil || st != bmc.PowerOff {
		t.Fatalf("status after off: %q, %v", st, err)
	}

	// What reprovisioning asks of the BMC, from off: network once, then on.
	step("netboot and cycle from off", func() error { return c.NetbootAndCycle(ctx, cfg) })
	order, pid4 := s.waitStart(t, 4)
	if order != "n" {
		t.Errorf("reprovisioning from off: order=%s, want n", order)
	}
	step("power off", power(bmc.Off))
	waitDead(t, pid4)

	// An independent client agrees.
	if p, err := exec.LookPath("ipmitool"); err == nil {
		host, port, _ := net.SplitHostPort(s.addr)
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(cctx, p, "-I", "lanplus", "-C", "3", "-H", host, "-p", port, "-U", "admin", "-E", "chassis", "power", "status")
		cmd.Env = append(os.Environ(), "IPMI_PASSWORD="+password)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Chassis Power is off") {
			t.Errorf("ipmitool chassis power status: %s %v", out, err)
		}
	}
	t.Logf("VM starts and stops: %s", strings.Join(s.starts(), " "))
}
