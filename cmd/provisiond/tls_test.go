package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAdminMutualTLS runs the admin listener with HTTPS and client
// certificates, and the client verbs with --ca-file, --cert-file and
// --key-file: a certificate signed by the client CA is let in, a client
// without one is refused.
func TestAdminMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCert(t, dir, "ca", "test CA", nil)
	srv := newTestCert(t, dir, "server", "127.0.0.1", ca)
	cl := newTestCert(t, dir, "client", "operator", ca)
	p := start(t, nil, "--data-dir", t.TempDir(), "--catalog", testCatalog,
		"--admin-addr", "0.0.0.0:0", "--admin-client-ca", ca.certFile, "--admin-tls-cert", srv.certFile, "--admin-tls-key", srv.keyFile)
	_, port, _ := net.SplitHostPort(p.admin) // logged as [::]:port
	https := "https://127.0.0.1:" + port
	code, out, errOut := runCmd("get", "groups", "--server", https, "--ca-file", ca.certFile, "--cert-file", cl.certFile, "--key-file", cl.keyFile)
	if code != 0 || !strings.Contains(out, "worker-two") {
		t.Errorf("with a client certificate: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := runCmd("get", "groups", "--server", https, "--ca-file", ca.certFile); code == 0 {
		t.Errorf("without a client certificate: accepted (%s)", errOut)
	}
	if code, _, errOut := runCmd("get", "groups", "--server", https); code == 0 || !strings.Contains(errOut, "certificate") {
		t.Errorf("without the CA: %d %s", code, errOut)
	}
}

type testCert struct {
	cert              *x509.Certificate
	key               *ecdsa.PrivateKey
	certFile, keyFile string
}

func newTestCert(t *testing.T, dir, name, cn string, parent *testCert) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	signer, signerKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	} else {
		signer, signerKey = parent.cert, parent.key
		if ip := net.ParseIP(cn); ip != nil {
			tmpl.IPAddresses = []net.IP{ip}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := &testCert{cert: cert, key: key, certFile: filepath.Join(dir, name+".crt"), keyFile: filepath.Join(dir, name+".key")}
	writeFile(t, c.certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, c.keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	return c
}
