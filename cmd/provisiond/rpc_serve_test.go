package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/poseidon/matchbox/matchbox/client"
	pb "github.com/poseidon/matchbox/matchbox/server/serverpb"
	"github.com/poseidon/matchbox/matchbox/storage/storagepb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	rpcMAC         = "52:54:00:a1:9c:ae"
	rpcIgnition    = `{"ignition":{"version":"3.3.0"},"passwd":{"users":[{"name":"core"}]}}`
	rpcIgnitionURL = "/ignition?mac=" + rpcMAC + "&os=installed"
)

// writeCerts writes a CA, server and client certificates with
// `provisiond certs init`, for 127.0.0.1 and localhost.
func writeCerts(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tls")
	if out, err := exec.Command(binary, "certs", "init", dir, "--server-name", "localhost", "--ip", "127.0.0.1").CombinedOutput(); err != nil {
		t.Fatalf("certs init: %v\n%s", err, out)
	}
	return dir
}

// rpcArgs are the gRPC listener's flags with the certificates in dir.
func rpcArgs(certs string) []string {
	return []string{"--rpc-addr", "127.0.0.1:0", "--rpc-cert", filepath.Join(certs, "server.crt"),
		"--rpc-key", filepath.Join(certs, "server.key"), "--rpc-ca", filepath.Join(certs, "ca.crt")}
}

// matchboxClient dials addr with matchbox's own Go client and the client
// certificate, as terraform-provider-matchbox does.
func matchboxClient(t *testing.T, addr, certs string) *client.Client {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(filepath.Join(certs, "client.crt"), filepath.Join(certs, "client.key"))
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(filepath.Join(certs, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	c, err := client.New(&client.Config{Endpoints: []string{addr}, DialTimeout: 30 * time.Second,
		TLS: &tls.Config{ServerName: "localhost", MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, RootCAs: roots}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// putNode writes, as Terraform does (profile first, its template next,
// the group last), an installed profile with raw Ignition and its group,
// selector keys and mac as the user wrote them.
func putNode(t *testing.T, c *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.Profiles.ProfilePut(ctx, &pb.ProfilePutRequest{Profile: &storagepb.Profile{Id: "node1", Boot: &storagepb.NetBoot{}, IgnitionId: "node1.ign"}}); err != nil {
		t.Fatalf("ProfilePut: %v", err)
	}
	if _, err := c.Ignition.IgnitionPut(ctx, &pb.IgnitionPutRequest{Name: "node1.ign", Config: []byte(rpcIgnition)}); err != nil {
		t.Fatalf("IgnitionPut: %v", err)
	}
	if _, err := c.Groups.GroupPut(ctx, &pb.GroupPutRequest{Group: writtenGroup()}); err != nil {
		t.Fatalf("GroupPut: %v", err)
	}
}

func writtenGroup() *storagepb.Group {
	return &storagepb.Group{Id: "node1", Name: "node1", Profile: "node1",
		Selector: map[string]string{"MAC": "52-54-00-A1-9C-AE", "os": "installed"}, Metadata: []byte(`{"cluster":"typhoon"}`)}
}

// getGroup checks that GroupGet returns exactly what was put.
func getGroup(t *testing.T, c *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := c.Groups.GroupGet(ctx, &pb.GroupGetRequest{Id: "node1"})
	if err != nil {
		t.Fatalf("GroupGet: %v", err)
	}
	want := writtenGroup()
	if g := resp.GetGroup(); !reflect.DeepEqual(g.Selector, want.Selector) || g.Profile != want.Profile || string(g.Metadata) != string(want.Metadata) {
		t.Errorf("GroupGet = %v, want %v", g, want)
	}
}

// TestServeMatchboxFlags: a matchbox command line, and a matchbox
// environment, start provisiond with only the binary's name changed, on a
// fresh matchbox data directory (assets only); both listeners answer.
func TestServeMatchboxFlags(t *testing.T) {
	certs := writeCerts(t)
	// The test's own plumbing: JSON logs to find the ports, and the admin
	// API on a free port.
	plumbing := []string{"PROVISIOND_LOG_FORMAT=json", "PROVISIOND_ADMIN_ADDR=127.0.0.1:0"}
	fresh := func() string {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "assets", "kernel"), "a kernel")
		return dir
	}
	check := func(t *testing.T, p *proc, dir string) {
		t.Helper()
		if p.rpc == "" {
			t.Fatalf("no rpc listener logged\n%s", p.logs())
		}
		if code, body := get(t, "http://"+p.boot+"/"); code != http.StatusOK || body != "provisiond\n" {
			t.Errorf("GET /: %d %q", code, body)
		}
		if code, body := get(t, "http://"+p.boot+"/assets/kernel"); code != http.StatusOK || body != "a kernel" {
			t.Errorf("assets: %d %q", code, body)
		}
		putNode(t, matchboxClient(t, p.rpc, certs))
		if code, body := get(t, "http://"+p.boot+rpcIgnitionURL); code != http.StatusOK || body != rpcIgnition {
			t.Errorf("/ignition after the gRPC writes: %d %s", code, body)
		}
		// Written back into the data directory; the database beside it.
		for _, f := range []string{"groups/node1.json", "profiles/node1.json", "ignition/node1.ign", ".provisiond/provisiond.db"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Error(err)
			}
		}
		if _, ok := p.waitLogs(t, func(logs string) bool { return strings.Contains(logs, `"level":"DEBUG"`) }); !ok {
			t.Errorf("-log-level debug not applied")
		}
	}

	t.Run("flags", func(t *testing.T) {
		dir := fresh()
		p := startServe(t, plumbing, "-address", "127.0.0.1:0", "-rpc-address", "127.0.0.1:0", "-data-path", dir,
			"-assets-path", filepath.Join(dir, "assets"), "-cert-file", filepath.Join(certs, "server.crt"),
			"-key-file", filepath.Join(certs, "server.key"), "-ca-file", filepath.Join(certs, "ca.crt"), "-log-level", "debug")
		check(t, p, dir)
		p.stop(t)
	})
	t.Run("environment", func(t *testing.T) {
		dir := fresh()
		p := startServe(t, append(plumbing, "MATCHBOX_ADDRESS=127.0.0.1:0", "MATCHBOX_RPC_ADDRESS=127.0.0.1:0", "MATCHBOX_DATA_PATH="+dir,
			"MATCHBOX_ASSETS_PATH="+filepath.Join(dir, "assets"), "MATCHBOX_CERT_FILE="+filepath.Join(certs, "server.crt"),
			"MATCHBOX_KEY_FILE="+filepath.Join(certs, "server.key"), "MATCHBOX_CA_FILE="+filepath.Join(certs, "ca.crt"), "MATCHBOX_LOG_LEVEL=debug"))
		check(t, p, dir)
		p.stop(t)
	})
}

// TestServeRefusesRPCAndSigning: a gRPC listener without its three TLS
// files, and matchbox's signing flag, stop the start with a message that
// names the flag.
func TestServeRefusesRPCAndSigning(t *testing.T) {
	certs := writeCerts(t)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no certificates", nil, []string{"--rpc-addr", "127.0.0.1:0"}, "missing --rpc-cert (matchbox: -cert-file), --rpc-key (matchbox: -key-file), --rpc-ca (matchbox: -ca-file)"},
		{"no CA", nil, []string{"--rpc-addr", "127.0.0.1:0", "--rpc-cert", filepath.Join(certs, "server.crt"), "--rpc-key", filepath.Join(certs, "server.key")}, "missing --rpc-ca"},
		{"unreadable CA", nil, append(rpcArgs(certs)[:6], "--rpc-ca", filepath.Join(certs, "nope")), "--rpc-ca"},
		{"CA without a certificate", nil, append(rpcArgs(certs)[:6], "--rpc-ca", filepath.Join(certs, "ca.key")), "--rpc-ca"},
		{"bad address", nil, []string{"--rpc-addr", "300.1.1.1:1"}, "--rpc-addr"},
		{"key ring flag", nil, []string{"-key-ring-path", "/etc/matchbox/ring"}, "-key-ring-path: provisiond does not sign its answers"},
		{"key ring variable", []string{"MATCHBOX_KEY_RING_PATH=/etc/matchbox/ring"}, nil, "MATCHBOX_KEY_RING_PATH: provisiond does not sign"},
		{"bad matchbox variable", []string{"MATCHBOX_LOG_LEVEL=loud"}, []string{"--catalog", "../../testdata/catalog"}, "--log-level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refusesStart(t, tc.env, tc.want, tc.args...)
		})
	}
}

// TestWriteBack: with --catalog, what gRPC and the admin API write lands
// in the directory in matchbox's layout, so a reload and a restart keep
// it; a delete removes the file; no "until the next reload" warning.
func TestWriteBack(t *testing.T) {
	cat, data, certs := copyDir(t, testCatalog), t.TempDir(), writeCerts(t)
	args := append([]string{"--data-dir", data, "--catalog", cat}, rpcArgs(certs)...)
	p := start(t, nil, args...)
	c := matchboxClient(t, p.rpc, certs)
	putNode(t, c)
	web := writeFile(t, filepath.Join(t.TempDir(), "groups", "web.json"), `{"profile":"worker","selector":{"role":"web"}}`)
	code, out, errOut := cli(t, p, "", "apply", "-f", web)
	if code != 0 || !strings.Contains(out, "created groups/web") || strings.Contains(errOut, "until the next reload") {
		t.Fatalf("apply: %d %s %s", code, out, errOut)
	}
	if code, _, _ := cli(t, p, "", "delete", "group", "worker-two"); code != 0 {
		t.Fatalf("delete worker-two: %d", code)
	}
	for _, f := range []string{"groups/node1.json", "profiles/node1.json", "ignition/node1.ign", "groups/web.json"} {
		if _, err := os.Stat(filepath.Join(cat, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(cat, "groups", "worker-two.json")); !os.IsNotExist(err) {
		t.Errorf("groups/worker-two.json after the delete: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(cat, "ignition", "node1.ign")); string(b) != rpcIgnition {
		t.Errorf("ignition/node1.ign = %q", b)
	}

	served := func(t *testing.T, p *proc) {
		t.Helper()
		getGroup(t, matchboxClient(t, p.rpc, certs))
		if code, body := get(t, "http://"+p.boot+rpcIgnitionURL); code != http.StatusOK || body != rpcIgnition {
			t.Errorf("/ignition: %d %s", code, body)
		}
		if code, _ := get(t, "http://"+p.boot+"/ipxe?mac=52:54:00:00:00:05&role=web"); code != http.StatusOK {
			t.Errorf("the admin API's group: %d", code)
		}
		if code, _, _ := cli(t, p, "", "get", "group", "worker-two"); code == 0 {
			t.Errorf("the deleted group is back")
		}
	}
	served(t, p)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitFor(t, "catalog loaded")
	served(t, p)
	if strings.Contains(p.logs(), "the directory wins") {
		t.Errorf("the reload dropped API changes:\n%s", p.logs())
	}
	p.stop(t)
	p = start(t, nil, args...)
	served(t, p)

	// A gRPC delete removes the file; the directory stays loadable.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c = matchboxClient(t, p.rpc, certs)
	if _, err := c.Groups.GroupDelete(ctx, &pb.GroupDeleteRequest{Id: "node1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cat, "groups", "node1.json")); !os.IsNotExist(err) {
		t.Errorf("groups/node1.json after GroupDelete: %v", err)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitFor(t, "catalog loaded")
	if _, err := c.Groups.GroupGet(ctx, &pb.GroupGetRequest{Id: "node1"}); status.Code(err) != codes.NotFound {
		t.Errorf("GroupGet after delete and reload: %v", err)
	}
	p.stop(t)
}

// TestRPCSelectPreviews: Select answers through the resolution service
// without side effects (no lease for a pooled group, no inventory
// record), and SelectGroup answers a group whose profile is missing while
// SelectProfile says NotFound.
func TestRPCSelectPreviews(t *testing.T) {
	certs := writeCerts(t)
	p := start(t, nil, append([]string{"--data-dir", t.TempDir(), "--catalog", copyDir(t, testCatalog)}, rpcArgs(certs)...)...)
	c := matchboxClient(t, p.rpc, certs)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	const newMAC = "52:54:00:00:00:77"
	prof, err := c.Select.SelectProfile(ctx, &pb.SelectProfileRequest{Labels: map[string]string{"mac": "52-54-00-00-00-77", "role": "services"}})
	if err != nil || prof.GetProfile().GetId() != "etcd3" {
		t.Fatalf("SelectProfile of a pooled group: %v %v", prof, err)
	}
	for _, path := range []string{"/api/v1/leases", "/api/v1/machines"} {
		if code, body := get(t, "http://"+p.admin+path); code != http.StatusOK || strings.Contains(body, newMAC) {
			t.Errorf("%s after Select: %d, and it names %s: %s", path, code, newMAC, body)
		}
	}
	// The boot path, by contrast, leases and records.
	if code, body := get(t, "http://"+p.boot+"/ipxe?mac="+newMAC+"&role=services"); code != http.StatusOK {
		t.Fatalf("/ipxe: %d %s", code, body)
	}
	if code, body := get(t, "http://"+p.admin+"/api/v1/leases"); code != http.StatusOK || !strings.Contains(body, newMAC) {
		t.Errorf("/api/v1/leases after a boot: %d %s", code, body)
	}

	if _, err := c.Profiles.ProfileDelete(ctx, &pb.ProfileDeleteRequest{Id: "raw"}); err != nil {
		t.Fatal(err)
	}
	raw := map[string]string{"mac": "52:54:00:aa:bb:cc"}
	if g, err := c.Select.SelectGroup(ctx, &pb.SelectGroupRequest{Labels: raw}); err != nil || g.GetGroup().GetId() != "raw-node" {
		t.Errorf("SelectGroup of a group without its profile: %v %v", g, err)
	}
	if _, err := c.Select.SelectProfile(ctx, &pb.SelectProfileRequest{Labels: raw}); status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), `"raw"`) {
		t.Errorf("SelectProfile of a group without its profile: %v", err)
	}
	p.stop(t)
}

// TestWriteBackUndo: a change whose file cannot be written into the
// catalog directory (here: the file another group was loaded from) is
// undone and refused; the directory and the served catalog keep agreeing.
func TestWriteBackUndo(t *testing.T) {
	cat := copyDir(t, testCatalog)
	if err := os.Rename(filepath.Join(cat, "groups", "worker.json"), filepath.Join(cat, "groups", "install.json")); err != nil {
		t.Fatal(err)
	}
	before := mustReadFile(t, filepath.Join(cat, "groups", "install.json"))
	p := start(t, nil, "--data-dir", t.TempDir(), "--catalog", cat)
	g := writeFile(t, filepath.Join(t.TempDir(), "groups", "install.json"), `{"id":"install","profile":"worker","selector":{"role":"install"}}`)
	if code, out, errOut := cli(t, p, "", "apply", "-f", g); code == 0 {
		t.Fatalf("apply of a group whose file holds another: %s %s", out, errOut)
	}
	if code, _, _ := cli(t, p, "", "get", "group", "install"); code == 0 {
		t.Errorf("the refused group is served")
	}
	if code, _, errOut := cli(t, p, "", "get", "group", "worker"); code != 0 {
		t.Errorf("group worker: %s", errOut)
	}
	if after := mustReadFile(t, filepath.Join(cat, "groups", "install.json")); after != before {
		t.Errorf("groups/install.json changed:\n%s", after)
	}
	m := p.waitFor(t, "catalog change undone: it could not be written back into --catalog")
	if err, _ := m["err"].(string); !strings.Contains(err, "holds groups/worker") {
		t.Errorf("logged cause: %v", m["err"])
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitFor(t, "catalog loaded")
	if strings.Contains(p.logs(), "the directory wins") {
		t.Errorf("the directory and the catalog disagreed:\n%s", p.logs())
	}
	p.stop(t)
}

func mustReadFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
