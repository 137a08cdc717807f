// Package certs writes the certificates that matchbox's gRPC API needs for
// mutual TLS: a certificate authority, a server certificate signed by it
// and a client certificate signed by it, under the file names matchbox's
// documentation uses (ca.crt, server.crt, server.key, client.crt,
// client.key), so that a terraform-provider-matchbox block written for
// matchbox works unchanged. Keys are ECDSA P-256 in PKCS #8 PEM.
package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File names written by Init, as in matchbox's docs (scripts/tls/cert-gen).
const (
	CACert     = "ca.crt"
	CAKey      = "ca.key"
	ServerCert = "server.crt"
	ServerKey  = "server.key"
	ClientCert = "client.crt"
	ClientKey  = "client.key"
)

// Files lists every file Init writes, in order.
var Files = []string{CACert, CAKey, ServerCert, ServerKey, ClientCert, ClientKey}

// Options says what the certificates are for.
type Options struct {
	// ServerName is the DNS name clients dial (required); it is the server
	// certificate's common name and a DNS subject alternative name.
	ServerName string
	// IPs are further subject alternative names of the server certificate,
	// for clients that dial an address.
	IPs []net.IP
	// ClientName is the client certificate's common name
	// (default "terraform").
	ClientName string
	// Validity of the server and client certificates (default 5 years);
	// the CA is valid twice as long.
	Validity time.Duration
	// Now is the start of validity (default time.Now(); tests set it).
	Now time.Time
}

// ErrExists is returned (wrapped) when a file Init would write exists:
// Init never overwrites a key.
var ErrExists = errors.New("exists")

// Init writes a new CA, server and client certificate and their keys into
// dir (created 0700 if missing). Keys are written 0600, certificates 0644.
// It refuses, before writing anything, when any of the files exists.
func Init(dir string, opt Options) error {
	if strings.TrimSpace(opt.ServerName) == "" {
		return errors.New("a server name is required (--server-name)")
	}
	if opt.ClientName == "" {
		opt.ClientName = "terraform"
	}
	if opt.Validity <= 0 {
		opt.Validity = 5 * 365 * 24 * time.Hour
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	for _, f := range Files {
		p := filepath.Join(dir, f)
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s %w: remove it or choose another directory", p, ErrExists)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	start := opt.Now.Add(-time.Hour) // tolerate clocks a little behind
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	caTmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "provisiond CA (" + opt.ServerName + ")"},
		NotBefore:             start,
		NotAfter:              opt.Now.Add(2 * opt.Validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, ca, err := sign(caTmpl, caKey.Public(), nil, caKey)
	if err != nil {
		return err
	}
	leaf := func(cn string, usage x509.ExtKeyUsage, dns []string, ips []net.IP) ([]byte, *ecdsa.PrivateKey, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, fmt.Errorf("certs: %w", err)
		}
		der, _, err := sign(&x509.Certificate{
			Subject:     pkix.Name{CommonName: cn},
			NotBefore:   start,
			NotAfter:    opt.Now.Add(opt.Validity),
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{usage},
			DNSNames:    dns,
			IPAddresses: ips,
		}, key.Public(), ca, caKey)
		return der, key, err
	}
	serverDER, serverKey, err := leaf(opt.ServerName, x509.ExtKeyUsageServerAuth, []string{opt.ServerName}, opt.IPs)
	if err != nil {
		return err
	}
	clientDER, clientKey, err := leaf(opt.ClientName, x509.ExtKeyUsageClientAuth, nil, nil)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		der  []byte
		key  *ecdsa.PrivateKey
	}{{CACert, caDER, nil}, {CAKey, nil, caKey}, {ServerCert, serverDER, nil}, {ServerKey, nil, serverKey}, {ClientCert, clientDER, nil}, {ClientKey, nil, clientKey}} {
		if err := writePEM(filepath.Join(dir, f.name), f.der, f.key); err != nil {
			return err
		}
	}
	return nil
}

// sign issues tmpl for pub, signed by parent (self-signed when nil).
func sign(tmpl *x509.Certificate, pub crypto.PublicKey, parent *x509.Certificate, key crypto.Signer) ([]byte, *x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %s: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	return der, cert, nil
}

// writePEM writes a certificate (der) or a private key, never replacing
// an existing file.
func writePEM(path string, der []byte, key *ecdsa.PrivateKey) error {
	block := &pem.Block{Type: "CERTIFICATE", Bytes: der}
	mode := os.FileMode(0o644)
	if key != nil {
		b, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return fmt.Errorf("certs: %w", err)
		}
		block, mode = &pem.Block{Type: "PRIVATE KEY", Bytes: b}, 0o600
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	if err := pem.Encode(f, block); err != nil {
		f.Close()
		return fmt.Errorf("certs: %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("certs: %s: %w", path, err)
	}
	return nil
}

// ProviderBlock returns the terraform-provider-matchbox provider block
// that uses the client certificate in dir to reach endpoint (host:port).
func ProviderBlock(dir, endpoint string) string {
	return fmt.Sprintf(`provider "matchbox" {
  endpoint    = %q
  client_cert = file(%q)
  client_key  = file(%q)
  ca          = file(%q)
}
`, endpoint, filepath.Join(dir, ClientCert), filepath.Join(dir, ClientKey), filepath.Join(dir, CACert))
}
