package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ipmibmc "github.com/bougou/go-ipmi/pkg/bmc"
	"github.com/bougou/go-ipmi/pkg/clock"
	"github.com/bougou/go-ipmi/pkg/hal/mock"
	ipmiserver "github.com/bougou/go-ipmi/pkg/server"
	"github.com/bougou/go-ipmi/pkg/transport/udp"

	"github.com/provisiond/provisiond/inventory"
)

const lifecycleBMCPassword = "cli-test-bmc-s3cret"

// startReferenceBMC runs go-ipmi's reference BMC (RMCP+ over UDP on
// 127.0.0.1, a mock chassis behind it) with one administrator.
func startReferenceBMC(t *testing.T) string {
	t.Helper()
	m := mock.New()
	var guid [16]byte
	copy(guid[:], "provisiond-cli!!")
	b := ipmibmc.New(ipmibmc.DeviceInfo{DeviceID: 32, DeviceRevision: 1, FirmwareMajor: 1, IPMIVersion: 0x20, ManufacturerID: 0x000157, ProductID: 1}, guid, m, ipmibmc.WithClock(clock.Real))
	u, err := b.Users.Add(2, "admin")
	if err != nil {
		t.Fatal(err)
	}
	u.SetPassword([]byte(lifecycleBMCPassword))
	u.Enabled = true
	u.ChannelAccess[1] = ipmibmc.UserChannelAccess{MaxPrivilege: ipmibmc.PrivilegeLevelAdministrator, Enabled: true}
	conn, err := udp.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := ipmiserver.NewServer(b, conn)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); _ = srv.Close(); <-done })
	return conn.LocalAddr().String()
}

func post(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestLifecycleCLI drives a real provisiond serve through its CLI and boot
// listener: a registered machine with a BMC (go-ipmi's reference BMC over
// UDP, the password in serve's environment) in an install_once group
// boots the installer, reports installed, gets the local-boot script, is
// powered and reprovisioned through the CLI, and describe shows its
// hardware, timeline and events. The BMC password never shows.
func TestLifecycleCLI(t *testing.T) {
	addr := startReferenceBMC(t)
	cat := copyDir(t, testCatalog)
	for name, body := range map[string]string{
		"groups/install-once.json": `{"id": "install-once", "profile": "install", "install_once": true, "selector": {"role": "metal"}}`,
		"machines/metal1.json":     `{"name": "metal1", "mac": "52:54:00:4d:00:01", "labels": {"role": "metal"}, "bmc": {"type": "ipmi", "address": "` + addr + `", "username": "admin", "password_env": "METAL1_BMC_PW"}}`,
	} {
		if err := os.WriteFile(filepath.Join(cat, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := start(t, []string{"METAL1_BMC_PW=" + lifecycleBMCPassword}, "--data-dir", t.TempDir(), "--catalog", cat, "--bmc-timeout", "10s", "--bmc-max-sessions", "2")
	boot := "http://" + p.boot
	run := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := cli(t, p, "", args...)
		if code != want {
			t.Fatalf("provisiond %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errOut)
		}
		if strings.Contains(out+errOut, lifecycleBMCPassword) {
			t.Fatalf("provisiond %s printed the BMC password", strings.Join(args, " "))
		}
		return out + errOut
	}

	code, body := get(t, boot+"/ipxe?mac=52-54-00-4d-00-01&serial=QEMU-0001&arch=x86_64&uuid=&domain=&hostname=")
	if code != 200 || !strings.Contains(body, "kernel ") {
		t.Fatalf("installer: %d %s", code, body)
	}
	if code, body := post(t, boot+"/installed?mac=52:54:00:4d:00:01"); code != 200 || !strings.Contains(body, `"state": "installed"`) {
		t.Fatalf("POST /installed: %d %s", code, body)
	}
	if code, body := get(t, boot+"/ipxe?mac=52:54:00:4d:00:01"); code != 200 || body != inventory.LocalBootIPXE {
		t.Fatalf("/ipxe of the installed machine: %d %q", code, body)
	}
	if out := run(0, "render", "ipxe", "--mac", "52:54:00:4d:00:01"); out != inventory.LocalBootIPXE {
		t.Errorf("render ipxe of the installed machine: %q, want the local-boot script", out)
	}

	if out := run(0, "power", "status", "metal1"); out != "metal1: power off\n" {
		t.Errorf("power status: %q", out)
	}
	if out := run(0, "power", "on", "52:54:00:4d:00:01"); out != "metal1: powered on\n" {
		t.Errorf("power on by mac: %q", out)
	}
	if out := run(0, "power", "status", "metal1", "-o", "json"); !strings.Contains(out, `"power": "on"`) {
		t.Errorf("power status -o json: %q", out)
	}
	if out := run(0, "reprovision", "metal1", "--reason", "new disk"); out != "metal1: reprovisioning; next boot from the network, power cycled through its BMC\n" {
		t.Errorf("reprovision: %q", out)
	}
	if code, body := get(t, boot+"/ipxe?mac=52:54:00:4d:00:01"); code != 200 || body == inventory.LocalBootIPXE {
		t.Errorf("/ipxe after reprovision: %d %q, want the installer", code, body)
	}
	if out := run(0, "state", "metal1", "installed", "--reason", "checked by hand"); out != "metal1: installed\n" {
		t.Errorf("state: %q", out)
	}

	// Mistakes: one line each, 2 for usage, 1 for a refusal.
	for _, tc := range []struct {
		code int
		args []string
		want string
	}{
		{2, []string{"power", "dance", "metal1"}, `power operation "dance"`},
		{2, []string{"power", "on"}, "want on|off|cycle|status MACHINE"},
		{2, []string{"state", "metal1", "asleep"}, `state "asleep"`},
		{2, []string{"state", "metal1", "booting"}, "only observed"},
		{1, []string{"power", "status", "ghost"}, "machine ghost"},
		{1, []string{"power", "status", "node1"}, "no bmc registered"},
	} {
		code, out, errOut := cli(t, p, "", tc.args...)
		if code != tc.code || out != "" {
			t.Errorf("%v: exit %d, stdout %q", tc.args, code, out)
		}
		oneLine(t, strings.Join(tc.args, " "), errOut, "provisiond: "+tc.args[0]+": ", tc.want)
		t.Logf("provisiond %s: exit %d: %s", strings.Join(tc.args, " "), code, strings.TrimSpace(errOut))
	}

	// A discovered machine has no BMC: reprovision marks it and says so.
	get(t, boot+"/ipxe?mac=52:54:00:4d:00:99")
	if out := run(0, "reprovision", "52:54:00:4d:00:99"); !strings.Contains(out, "warning: no bmc registered: power-cycle the machine") {
		t.Errorf("reprovision without a bmc: %q", out)
	} else {
		t.Logf("provisiond reprovision 52:54:00:4d:00:99:\n%s", out)
	}

	out := run(0, "describe", "machine", "metal1")
	for _, want := range []string{
		"State:       installed", "Hardware:    serial=QEMU-0001 arch=x86_64", "BMC:         ipmi",
		"Timeline:",
		"(new) -> booting  (/ipxe)",
		"booting -> installed  (/installed)",
		"installed -> reprovisioning  (operator: new disk)",
		"reprovisioning -> booting  (/ipxe)",
		"booting -> installed  (operator: checked by hand)",
		"local boot", "bmc:on", "bmc:reprovision", "-> reprovisioning",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("describe machine metal1 lacks %q:\n%s", want, out)
		}
	}
	t.Logf("describe machine metal1:\n%s", out)
	if strings.Contains(p.logs(), lifecycleBMCPassword) {
		t.Errorf("serve logged the BMC password")
	}
}

// TestLifecycleVerbHelp: each lifecycle verb's --help is its own, exit 0,
// and `provisiond help` lists them.
func TestLifecycleVerbHelp(t *testing.T) {
	for verb, want := range map[string]string{
		"power":       "Usage: provisiond power on|off|cycle|status MACHINE",
		"reprovision": "--reason",
		"state":       "installed, failed, reprovisioning or discovered",
	} {
		code, _, errOut := runCmd(verb, "--help")
		if code != 0 || !strings.Contains(errOut, want) {
			t.Errorf("%s --help: exit %d, lacks %q:\n%s", verb, code, want, errOut)
		}
	}
	code, out, errOut := runCmd("help")
	for _, verb := range []string{"power", "reprovision", "state"} {
		if !strings.Contains(out+errOut, "\n  provisiond "+verb+" ") {
			t.Errorf("help (exit %d) does not list %s:\n%s%s", code, verb, out, errOut)
		}
	}
}
