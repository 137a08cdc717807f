package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, dir, name string) *x509.Certificate {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := Init(dir, Options{ServerName: "matchbox.example.com", IPs: []net.IP{net.ParseIP("10.0.0.5")}, Now: now}); err != nil {
		t.Fatal(err)
	}
	for _, f := range Files {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o644)
		if strings.HasSuffix(f, ".key") {
			want = 0o600
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", f, st.Mode().Perm(), want)
		}
	}
	ca := load(t, dir, "ca")
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	server, client := load(t, dir, "server"), load(t, dir, "client")
	at := now.Add(24 * time.Hour)
	for _, name := range []string{"matchbox.example.com", "10.0.0.5"} {
		if _, err := server.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("server certificate for %s: %v", name, err)
		}
	}
	if _, err := server.Verify(x509.VerifyOptions{DNSName: "other.example.com", Roots: roots, CurrentTime: at}); err == nil {
		t.Error("server certificate valid for a name it was not issued for")
	}
	if _, err := client.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	if _, err := server.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("the server certificate is accepted as a client certificate")
	}
	if client.Subject.CommonName != "terraform" || !ca.IsCA || ca.NotAfter.Before(server.NotAfter) {
		t.Errorf("client CN %q, CA %v until %v, server until %v", client.Subject.CommonName, ca.IsCA, ca.NotAfter, server.NotAfter)
	}
	if _, err := client.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now.Add(6 * 365 * 24 * time.Hour), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("client certificate still valid after 6 years (default validity 5)")
	}

	// Never overwrites, and writes nothing when refusing.
	before, _ := os.ReadFile(filepath.Join(dir, CAKey))
	if err := Init(dir, Options{ServerName: "x"}); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), CACert) {
		t.Errorf("second Init: %v, want ErrExists naming ca.crt", err)
	} else if strings.HasPrefix(err.Error(), "certs:") {
		t.Errorf("second Init: %v: the CLI says certs: already (provisiond: certs: ...)", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, CAKey))
	if string(before) != string(after) {
		t.Error("ca.key was replaced")
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, ClientKey), []byte("mine"), 0o600)
	if err := Init(other, Options{ServerName: "x"}); !errors.Is(err, ErrExists) {
		t.Errorf("Init over client.key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, CACert)); err == nil {
		t.Error("Init wrote ca.crt before refusing")
	}
	if err := Init(t.TempDir(), Options{}); err == nil || !strings.Contains(err.Error(), "--server-name") {
		t.Errorf("Init without a server name: %v", err)
	}
}

func TestProviderBlock(t *testing.T) {
	got := ProviderBlock("/etc/provisiond/tls", "matchbox.example.com:8081")
	want := `provider "matchbox" {
  endpoint    = "matchbox.example.com:8081"
  client_cert = file("/etc/provisiond/tls/client.crt")
  client_key  = file("/etc/provisiond/tls/client.key")
  ca          = file("/etc/provisiond/tls/ca.crt")
}
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
