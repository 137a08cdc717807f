//go:build e2e

// The OpenTofu end-to-end test: terraform-provider-matchbox v0.5.4 applies
// a Typhoon-style configuration to `provisiond serve`'s gRPC API over
// mutual TLS, the boot endpoints serve it, a second plan (after a restart)
// shows no changes, and destroy removes it: once with the objects in the
// store, once with a matchbox data directory (-data-path, matchbox's
// flags) that the writes land in. Both binaries come from
// e2e/tofu/build.sh (built from the Go module proxy, cached outside the
// clone); .ci/run builds them first.
//
// Run with: e2e/tofu/build.sh && go test -tags e2e -count=1 -run TestOpenTofu -v ./e2e/

package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	tofuVersion     = "1.12.6"
	providerVersion = "0.5.4"
	tofuMAC         = "52:54:00:a1:9c:ae"
	tofuWorkerMAC   = "52:54:00:b2:2f:86"

	// Ignition of the disk installer and of the installed system, as
	// Typhoon renders them with its ct provider into raw_ignition.
	installIgn   = `{"ignition":{"version":"3.3.0"},"systemd":{"units":[{"name":"installer.service","enabled":true,"contents":"[Unit]\nDescription=install\n[Service]\nType=oneshot\nExecStart=/usr/bin/coreos-installer install /dev/sda\n[Install]\nWantedBy=multi-user.target\n"}]}}`
	installedIgn = `{"ignition":{"version":"3.3.0"},"passwd":{"users":[{"name":"core","sshAuthorizedKeys":["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2e tofu@e2e"]}]}}`
	workerButane = "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/hostname\n      contents:\n        inline: worker1\n"
)

// tofuConfig is the configuration: Typhoon's bare-metal layout (an install
// profile booting the live image with the installer's Ignition, an
// installed profile with raw_ignition, groups by mac and by
// mac+os=installed), plus a worker with a Butane container_linux_config.
const tofuConfig = `
terraform {
  required_providers {
    matchbox = {
      source  = "poseidon/matchbox"
      version = "` + providerVersion + `"
    }
  }
}

variable "endpoint" { type = string }
variable "certs" { type = string }
variable "http_endpoint" { type = string }

provider "matchbox" {
  endpoint    = var.endpoint
  client_cert = file("${var.certs}/client.crt")
  client_key  = file("${var.certs}/client.key")
  ca          = file("${var.certs}/ca.crt")
}

resource "matchbox_profile" "install" {
  name   = "node1-install"
  kernel = "/assets/fedora-coreos/fedora-coreos-live-kernel-x86_64"
  initrd = [
    "--name main /assets/fedora-coreos/fedora-coreos-live-initramfs.x86_64.img"
  ]
  args = [
    "initrd=main",
    "coreos.live.rootfs_url=${var.http_endpoint}/assets/fedora-coreos/fedora-coreos-live-rootfs.x86_64.img",
    "coreos.inst.install_dev=/dev/sda",
    "coreos.inst.ignition_url=${var.http_endpoint}/ignition?uuid=$${uuid}&mac=$${mac:hexhyp}",
  ]
  raw_ignition = file("${path.module}/install.ign")
}

resource "matchbox_profile" "node" {
  name         = "node1"
  raw_ignition = file("${path.module}/node1.ign")
}

resource "matchbox_profile" "worker" {
  name                   = "worker"
  kernel                 = "/assets/fedora-coreos/fedora-coreos-live-kernel-x86_64"
  container_linux_config = file("${path.module}/worker.yaml")
}

resource "matchbox_group" "install" {
  name    = "node1-install"
  profile = matchbox_profile.install.name
  selector = {
    mac = "` + tofuMAC + `"
  }
}

resource "matchbox_group" "node" {
  name    = "node1"
  profile = matchbox_profile.node.name
  selector = {
    mac = "` + tofuMAC + `"
    os  = "installed"
  }
  metadata = {
    cluster = "typhoon"
    role    = "controller"
  }
}

resource "matchbox_group" "worker" {
  name    = "worker"
  profile = matchbox_profile.worker.name
  selector = {
    mac = "` + tofuWorkerMAC + `"
  }
}
`

// tofuEnv is one OpenTofu run's world.
type tofuEnv struct {
	t     *testing.T
	tofu  string
	work  string // the configuration
	certs string
	env   []string
	bin   string // provisiond
	data  string
	// catalog, when set, is a matchbox data directory given with
	// matchbox's flags (-data-path ...): the writes are written into it.
	catalog string
	log     *lockedBuffer
	boot    string // host:port
	rpc     string // host:port
	// httpEndpoint is the first boot listener's URL: the configuration's
	// http_endpoint stays the same across the restart (the ports change).
	httpEndpoint string
	stopProc     func()
	hupProc      func()
}

func TestOpenTofu(t *testing.T) {
	t.Run("store", func(t *testing.T) { testOpenTofu(t, false) })
	t.Run("catalog-directory", func(t *testing.T) { testOpenTofu(t, true) })
}

// tofuFiles are the files a matchbox data directory holds after the apply,
// named as matchbox names them.
var tofuFiles = []string{
	"profiles/node1-install.json", "profiles/node1.json", "profiles/worker.json",
	"groups/node1-install.json", "groups/node1.json", "groups/worker.json",
	"ignition/node1-install.ign", "ignition/node1.ign", "ignition/worker.yaml.tmpl",
}

func testOpenTofu(t *testing.T, writeBack bool) {
	te := tofuSetup(t)
	if writeBack {
		// A fresh matchbox data directory: assets only.
		te.catalog = filepath.Join(t.TempDir(), "matchbox")
		if err := os.MkdirAll(filepath.Join(te.catalog, "assets"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	te.start()

	te.run("init", "-input=false", "-no-color")
	te.run(append([]string{"apply", "-auto-approve", "-input=false", "-no-color"}, te.vars()...)...)
	if writeBack {
		for _, f := range tofuFiles {
			if _, err := os.Stat(filepath.Join(te.catalog, f)); err != nil {
				t.Errorf("after apply: %v", err)
			}
		}
		if b, err := os.ReadFile(filepath.Join(te.catalog, "ignition", "node1.ign")); err != nil || string(b) != installedIgn {
			t.Errorf("ignition/node1.ign = %q, %v", b, err)
		}
	}

	// The boot endpoints serve what Terraform wrote.
	ipxe := te.get("/ipxe?mac="+tofuMAC, http.StatusOK)
	for _, want := range []string{
		"kernel /assets/fedora-coreos/fedora-coreos-live-kernel-x86_64 initrd=main ",
		"coreos.inst.ignition_url=" + te.httpEndpoint + "/ignition?uuid=${uuid}&mac=${mac:hexhyp}",
		"initrd --name main /assets/fedora-coreos/fedora-coreos-live-initramfs.x86_64.img",
	} {
		if !strings.Contains(ipxe, want) {
			t.Errorf("/ipxe lacks %q:\n%s", want, ipxe)
		}
	}
	if got := te.get("/ignition?mac="+strings.ReplaceAll(tofuMAC, ":", "-"), http.StatusOK); got != installIgn {
		t.Errorf("/ignition (install) = %s, want the install profile's raw_ignition", got)
	}
	if got := te.get("/ignition?mac="+tofuMAC+"&os=installed", http.StatusOK); got != installedIgn {
		t.Errorf("/ignition (installed) = %s, want the installed profile's raw_ignition", got)
	}
	var worker struct {
		Ignition struct{ Version string } `json:"ignition"`
		Storage  struct {
			Files []struct{ Path string } `json:"files"`
		} `json:"storage"`
	}
	if err := json.Unmarshal([]byte(te.get("/ignition?mac="+tofuWorkerMAC, http.StatusOK)), &worker); err != nil || !strings.HasPrefix(worker.Ignition.Version, "3.") || len(worker.Storage.Files) != 1 || worker.Storage.Files[0].Path != "/etc/hostname" {
		t.Errorf("/ignition (worker, Butane) = %+v, %v", worker, err)
	}
	meta := te.get("/metadata?mac="+tofuMAC+"&os=installed", http.StatusOK)
	if !strings.Contains(meta, "CLUSTER=typhoon") || !strings.Contains(meta, "ROLE=controller") {
		t.Errorf("/metadata lacks the group's metadata:\n%s", meta)
	}

	// No drift: Get returned exactly what was put, before and after a
	// restart (the objects come back from the store, or from the
	// directory, which the restart loads).
	te.planNoChanges()
	te.stopProc()
	te.start()
	te.planNoChanges()
	if writeBack {
		// A reload reads the directory again: still no drift.
		te.hup()
		te.planNoChanges()
	}

	te.run(append([]string{"destroy", "-auto-approve", "-input=false", "-no-color"}, te.vars()...)...)
	te.get("/ipxe?mac="+tofuMAC, http.StatusNotFound)
	te.get("/ignition?mac="+tofuWorkerMAC, http.StatusNotFound)
	// Nothing is left: a fresh apply would create all six objects.
	out := te.run(append([]string{"plan", "-input=false", "-no-color"}, te.vars()...)...)
	if !strings.Contains(out, "6 to add, 0 to change, 0 to destroy") {
		t.Errorf("plan after destroy:\n%s", out)
	}
	if writeBack {
		for _, f := range tofuFiles {
			if _, err := os.Stat(filepath.Join(te.catalog, f)); !os.IsNotExist(err) {
				t.Errorf("after destroy, %s: %v", f, err)
			}
		}
	}
}

// tofuSetup finds the binaries, writes the certificates and the
// configuration, and chooses how to start the gRPC listener.
func tofuSetup(t *testing.T) *tofuEnv {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(wd)
	cache := os.Getenv("PROVISIOND_CI_CACHE")
	if cache == "" {
		cache = "/var/cache/provisiond-ci"
	}
	tofu := filepath.Join(cache, "tofu-"+tofuVersion, "tofu")
	provider := filepath.Join(cache, "terraform-provider-matchbox-"+providerVersion, "terraform-provider-matchbox_v"+providerVersion)
	for _, p := range []string{tofu, provider} {
		if _, err := os.Stat(p); err != nil {
			msg := fmt.Sprintf("%s not found: run e2e/tofu/build.sh %s first (it builds OpenTofu %s and terraform-provider-matchbox %s from the Go module proxy)", p, cache, tofuVersion, providerVersion)
			// .ci/run's OpenTofu stage builds them first and sets
			// PROVISIOND_E2E_TOFU=1; elsewhere (the QEMU stage, a
			// developer's go test) the test runs only when they exist.
			if os.Getenv("PROVISIOND_E2E_TOFU") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	tmp := t.TempDir()
	te := &tofuEnv{t: t, tofu: tofu, work: filepath.Join(tmp, "config"), certs: filepath.Join(tmp, "tls"), data: filepath.Join(tmp, "data"), log: &lockedBuffer{}}

	// provisiond, and the verb that writes the certificates.
	te.bin = filepath.Join(tmp, "provisiond")
	gobuild := func(out string, args ...string) {
		cmd := exec.Command("go", append([]string{"build", "-o", out}, args...)...)
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %v: %v\n%s", args, err, b)
		}
	}
	gobuild(te.bin, "./cmd/provisiond")
	if b, err := exec.Command(te.bin, "certs", "init", te.certs, "--server-name", "localhost", "--ip", "127.0.0.1").CombinedOutput(); err != nil {
		t.Fatalf("provisiond certs init: %v\n%s", err, b)
	} else if !strings.Contains(string(b), `provider "matchbox"`) {
		t.Errorf("certs init printed no provider block:\n%s", b)
	}

	if help, _ := exec.Command(te.bin, "serve", "--help").CombinedOutput(); !strings.Contains(string(help), "-rpc-addr") {
		t.Fatalf("provisiond serve has no --rpc-addr:\n%s", help)
	}

	// The provider, from a filesystem mirror: no registry, no network.
	mirror := filepath.Join(tmp, "mirror", "registry.opentofu.org", "poseidon", "matchbox", providerVersion, runtime.GOOS+"_"+runtime.GOARCH)
	if err := os.MkdirAll(mirror, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(provider, filepath.Join(mirror, "terraform-provider-matchbox_v"+providerVersion)); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(mirror, "terraform-provider-matchbox_v"+providerVersion), 0o755)
	cli := filepath.Join(tmp, "tofurc")
	rc := fmt.Sprintf("provider_installation {\n  filesystem_mirror {\n    path    = %q\n    include = [\"registry.opentofu.org/poseidon/matchbox\"]\n  }\n}\n", filepath.Join(tmp, "mirror"))
	files := map[string]string{cli: rc, filepath.Join(te.work, "main.tf"): tofuConfig,
		filepath.Join(te.work, "install.ign"): installIgn, filepath.Join(te.work, "node1.ign"): installedIgn, filepath.Join(te.work, "worker.yaml"): workerButane}
	for p, s := range files {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	te.env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cli, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "HOME="+tmp, "TF_LOG=")
	return te
}

// start runs the server on fresh loopback ports and waits for both
// listeners and the catalog.
func (te *tofuEnv) start() {
	t := te.t
	t.Helper()
	tls := func(f string) string { return filepath.Join(te.certs, f) }
	args := []string{"serve", "--addr", "127.0.0.1:0", "--rpc-addr", "127.0.0.1:0",
		"--rpc-cert", tls("server.crt"), "--rpc-key", tls("server.key"), "--rpc-ca", tls("ca.crt"),
		"--data-dir", te.data}
	if te.catalog != "" {
		// A matchbox unit file's command line.
		args = []string{"serve", "-address", "127.0.0.1:0", "-rpc-address", "127.0.0.1:0", "-data-path", te.catalog,
			"-assets-path", filepath.Join(te.catalog, "assets"), "-cert-file", tls("server.crt"), "-key-file", tls("server.key"),
			"-ca-file", tls("ca.crt"), "-log-level", "debug"}
	}
	args = append(args, "--log-format", "json", "--admin-addr", "127.0.0.1:0")
	cmd := exec.Command(te.bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = te.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan [2]string, 4)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			te.log.Write(append(append([]byte(nil), sc.Bytes()...), '\n'))
			var rec struct{ Msg, Listener, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" && rec.Addr != "" {
				select {
				case found <- [2]string{rec.Listener, rec.Addr}:
				default:
				}
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { <-scanned; exited <- cmd.Wait() }()
	stopped := false
	te.hupProc = func() { cmd.Process.Signal(syscall.SIGHUP) }
	te.stopProc = func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	t.Cleanup(func() {
		te.stopProc()
		if t.Failed() {
			t.Logf("server log:\n%s", te.log.String())
		}
	})
	te.boot, te.rpc = "", ""
	deadline := time.After(startTimeout)
	for te.boot == "" || te.rpc == "" {
		select {
		case l := <-found:
			switch l[0] {
			case "boot":
				te.boot = l[1]
			case "rpc":
				te.rpc = l[1]
			}
		case err := <-exited:
			t.Fatalf("%s exited before listening: %v\n%s", te.bin, err, te.log.String())
		case <-deadline:
			t.Fatalf("%s: no boot and rpc listeners logged within %s\n%s", te.bin, startTimeout, te.log.String())
		}
	}
	waitReady(t, "http://"+te.boot)
	if te.httpEndpoint == "" {
		te.httpEndpoint = "http://" + te.boot
	}
}

func (te *tofuEnv) vars() []string {
	return []string{"-var", "endpoint=" + te.rpc, "-var", "certs=" + te.certs, "-var", "http_endpoint=" + te.httpEndpoint}
}

// run runs tofu in the configuration directory and returns its output;
// a failure is fatal.
func (te *tofuEnv) run(args ...string) string {
	te.t.Helper()
	out, err := te.exec(args...)
	if err != nil {
		te.t.Fatalf("tofu %s: %v\n%s", args[0], err, out)
	}
	return out
}

func (te *tofuEnv) exec(args ...string) (string, error) {
	cmd := exec.Command(te.tofu, args...)
	cmd.Dir = te.work
	cmd.Env = te.env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	te.t.Logf("tofu %s: %s", args[0], time.Since(start).Round(time.Millisecond))
	return string(out), err
}

// planNoChanges runs plan -detailed-exitcode: 0 is no changes, 2 changes.
func (te *tofuEnv) planNoChanges() {
	te.t.Helper()
	out, err := te.exec(append([]string{"plan", "-detailed-exitcode", "-input=false", "-no-color"}, te.vars()...)...)
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 2 {
		te.t.Fatalf("plan shows drift: Get did not return what was put:\n%s", out)
	}
	if err != nil {
		te.t.Fatalf("tofu plan: %v\n%s", err, out)
	}
	if !strings.Contains(out, "No changes.") {
		te.t.Errorf("plan output lacks \"No changes.\":\n%s", out)
	}
}

// hup sends SIGHUP and waits until the catalog directory is loaded again.
func (te *tofuEnv) hup() {
	te.t.Helper()
	before := strings.Count(te.log.String(), `"msg":"catalog loaded"`)
	te.hupProc()
	deadline := time.Now().Add(startTimeout)
	for strings.Count(te.log.String(), `"msg":"catalog loaded"`) == before {
		if time.Now().After(deadline) {
			te.t.Fatalf("no catalog reload within %s after SIGHUP\n%s", startTimeout, te.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// get fetches a boot endpoint and checks its status.
func (te *tofuEnv) get(path string, status int) string {
	te.t.Helper()
	resp, err := http.Get("http://" + te.boot + path)
	if err != nil {
		te.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != status {
		te.t.Errorf("GET %s: %d, want %d: %s", path, resp.StatusCode, status, b)
	}
	return string(b)
}
