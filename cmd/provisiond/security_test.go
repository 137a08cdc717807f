package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tokenCatalog is the test catalog with the worker profile's
// ignition.config.url carrying the boot token.
func tokenCatalog(t *testing.T) string {
	cat := copyDir(t, testCatalog)
	writeFile(t, filepath.Join(cat, "profiles", "worker.json"), `{"id": "worker", "name": "worker",
  "boot": {"kernel": "/assets/flatcar/vmlinuz", "initrd": ["/assets/flatcar/initrd.cpio.gz"],
    "args": ["flatcar.first_boot=yes", "ignition.config.url={{.server.url}}/ignition?mac=${mac:hexhyp}&role=worker&token={{.boot_token}}"]},
  "ignition_id": "worker.yaml", "cloud_id": "worker.cloud"}`)
	return cat
}

var tokenRE = regexp.MustCompile(`token=([A-Za-z0-9_-]+)`)

// TestServeBootTokens runs provisiond with --boot-secret-file: /ipxe hands
// out a token, /ignition wants it; SIGHUP rotates the secrets (a token
// signed with a secret still in the file stays valid, one signed with a
// removed secret is refused).
func TestServeBootTokens(t *testing.T) {
	dir := t.TempDir()
	secrets := writeFile(t, filepath.Join(dir, "boot-secrets"), "# boot token secrets\nfirst-secret-0123456789abcdef\n")
	p := start(t, nil, "--data-dir", t.TempDir(), "--catalog", tokenCatalog(t), "--boot-secret-file", secrets, "--boot-token-ttl", "10m")
	base := "http://" + p.boot
	code, script := get(t, base+"/ipxe?mac=52:54:00:00:00:07&role=worker")
	m := tokenRE.FindStringSubmatch(script)
	if code != 200 || m == nil {
		t.Fatalf("/ipxe: %d, no token:\n%s", code, script)
	}
	tok := m[1]
	ign := base + "/ignition?mac=52-54-00-00-00-07&role=worker&token="
	if code, body := get(t, ign+tok); code != 200 || !strings.Contains(body, `"ignition"`) {
		t.Errorf("/ignition with the token: %d %s", code, body)
	}
	if code, _ := get(t, base+"/ignition?mac=52-54-00-00-00-07&role=worker"); code != 403 {
		t.Errorf("/ignition without the token: %d, want 403", code)
	}
	if code, _ := get(t, base+"/ignition?mac=52-54-00-00-00-08&role=worker&token="+tok); code != 403 {
		t.Errorf("/ignition with another machine's token: %d, want 403", code)
	}
	// The admin API's render shows a real token too; its config renders
	// need none (the admin API authenticates).
	code, out, errOut := runCmd("render", "ipxe", "--mac", "52:54:00:00:00:07", "role=worker", "--server", "http://"+p.admin)
	if m := tokenRE.FindStringSubmatch(out); code != 0 || m == nil {
		t.Errorf("render ipxe: %d, no token: %s %s", code, out, errOut)
	}
	if code, out, errOut := runCmd("render", "ignition", "--mac", "52:54:00:00:00:07", "role=worker", "--server", "http://"+p.admin); code != 0 || !strings.Contains(out, `"ignition"`) {
		t.Errorf("render ignition: %d %s %s", code, out, errOut)
	}
	_, metrics := get(t, base+"/metrics")
	for _, want := range []string{`provisiond_boot_token_rejections_total{reason="missing"} 1`, `provisiond_boot_token_rejections_total{reason="wrong_mac"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// Rotate: a new first secret signs, the old one still verifies.
	writeFile(t, secrets, "second-secret-0123456789abcdef\nfirst-secret-0123456789abcdef\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitFor(t, "boot secrets reloaded")
	if code, _ := get(t, ign+tok); code != 200 {
		t.Errorf("old token during rotation: %d, want 200", code)
	}
	_, script = get(t, base+"/ipxe?mac=52:54:00:00:00:07&role=worker")
	newTok := tokenRE.FindStringSubmatch(script)[1]
	if newTok == tok {
		t.Errorf("the token did not change with the signing secret")
	}
	// A broken file keeps the secrets.
	writeFile(t, secrets, "short\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitFor(t, "boot secret file reload refused; keeping the previous secrets")
	// Drop the old secret: its tokens are refused.
	writeFile(t, secrets, "second-secret-0123456789abcdef\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitFor(t, "boot secrets reloaded")
	if code, _ := get(t, ign+tok); code != 403 {
		t.Errorf("token of a removed secret: %d, want 403", code)
	}
	if code, _ := get(t, ign+newTok); code != 200 {
		t.Errorf("token of the current secret: %d, want 200", code)
	}
	p.stop(t)
}

// TestServeBootTLS serves the boot listener over HTTPS: .server.url is
// https://, and SIGHUP swaps the certificate (a broken pair keeps the
// old one).
func TestServeBootTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCert(t, dir, "ca", "test CA", nil)
	first := newTestCert(t, dir, "first", "127.0.0.1", ca)
	second := newTestCert(t, filepath.Join(dir, "2"), "second", "127.0.0.1", ca)
	certFile, keyFile := filepath.Join(dir, "boot.crt"), filepath.Join(dir, "boot.key")
	copyFile(t, first.certFile, certFile)
	copyFile(t, first.keyFile, keyFile)
	p := start(t, nil, "--data-dir", t.TempDir(), "--catalog", testCatalog, "--tls-cert", certFile, "--tls-key", keyFile)
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	fetch := func() (string, *x509.Certificate) {
		t.Helper()
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
		resp, err := c.Get("https://" + p.boot + "/ipxe?mac=52:54:00:00:00:01&role=worker")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), resp.TLS.PeerCertificates[0]
	}
	body, cert := fetch()
	if !strings.Contains(body, "ignition.config.url=https://"+p.boot+"/ignition") {
		t.Errorf(".server.url is not https:\n%s", body)
	}
	if !cert.Equal(first.cert) {
		t.Errorf("served certificate %s, want the first", cert.SerialNumber)
	}
	if resp, err := http.Get("http://" + p.boot + "/ipxe"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP on the TLS listener: %d", resp.StatusCode)
		}
	}
	copyFile(t, second.certFile, certFile)
	copyFile(t, second.keyFile, keyFile)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitFor(t, "certificate reloaded")
	if _, cert := fetch(); !cert.Equal(second.cert) {
		t.Errorf("after SIGHUP: served certificate %s, want the second", cert.SerialNumber)
	}
	writeFile(t, keyFile, "not a key")
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitFor(t, "certificate reload refused; keeping the previous certificate")
	if _, cert := fetch(); !cert.Equal(second.cert) {
		t.Errorf("after a broken reload: served certificate %s, want the second", cert.SerialNumber)
	}
	p.stop(t)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(b))
}

// TestServeRefusesBadSecurityFlags: each bad value is refused at start,
// naming its flag.
func TestServeRefusesBadSecurityFlags(t *testing.T) {
	dir := t.TempDir()
	short := writeFile(t, filepath.Join(dir, "short"), "tooshort\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"cert without key", []string{"--tls-cert", short}, "--tls-cert and --tls-key"},
		{"unreadable pair", []string{"--tls-cert", short, "--tls-key", short}, "--tls-cert/--tls-key"},
		{"short secret", []string{"--boot-secret-file", short}, "--boot-secret-file"},
		{"missing secret file", []string{"--boot-secret-file", filepath.Join(dir, "none")}, "--boot-secret-file"},
		{"tiny ttl", []string{"--boot-token-ttl", "1s"}, "--boot-token-ttl"},
		{"negative in-flight", []string{"--max-inflight-per-client", "-1"}, "--max-inflight-per-client"},
		{"zero output", []string{"--max-output-bytes", "0"}, "--max-output-bytes"},
		{"zero render time", []string{"--render-timeout", "0s"}, "--render-timeout"},
		{"zero admin body", []string{"--admin-max-body-bytes", "0"}, "--admin-max-body-bytes"},
		{"too many labels", []string{"--max-labels", "65"}, "--max-labels"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			refusesStart(t, nil, tc.want, tc.args...)
		})
	}
}

// TestIdleTimeout: a keep-alive connection left idle is closed after
// --idle-timeout.
func TestIdleTimeout(t *testing.T) {
	p := start(t, nil, "--data-dir", t.TempDir(), "--catalog", testCatalog, "--idle-timeout", "300ms")
	conn, err := net.Dial("tcp", p.boot)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	start := time.Now()
	if _, err := br.ReadByte(); err == nil || isTimeout(err) {
		t.Fatalf("idle connection: %v after %s, want it closed", err, time.Since(start))
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("idle connection closed after %s, want about 300ms", d)
	}
}

// TestAdminTLSReload: the admin listener's certificate is re-read on
// SIGHUP too.
func TestAdminTLSReload(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCert(t, dir, "ca", "test CA", nil)
	first := newTestCert(t, dir, "first", "127.0.0.1", ca)
	second := newTestCert(t, filepath.Join(dir, "2"), "second", "127.0.0.1", ca)
	certFile, keyFile := filepath.Join(dir, "admin.crt"), filepath.Join(dir, "admin.key")
	copyFile(t, first.certFile, certFile)
	copyFile(t, first.keyFile, keyFile)
	p := start(t, nil, "--data-dir", t.TempDir(), "--catalog", testCatalog, "--admin-tls-cert", certFile, "--admin-tls-key", keyFile)
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	served := func() *x509.Certificate {
		t.Helper()
		conn, err := tls.Dial("tcp", p.admin, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0]
	}
	if !served().Equal(first.cert) {
		t.Fatal("not serving the first certificate")
	}
	copyFile(t, second.certFile, certFile)
	copyFile(t, second.keyFile, keyFile)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitFor(t, "certificate reloaded")
	if !served().Equal(second.cert) {
		t.Error("after SIGHUP: not serving the second certificate")
	}
	p.stop(t)
}
