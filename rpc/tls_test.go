package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/poseidon/matchbox/matchbox/client"
	pb "github.com/poseidon/matchbox/matchbox/server/serverpb"
	"github.com/poseidon/matchbox/matchbox/storage/storagepb"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/internal/certs"
)

// TestClientCertificateRequired: a client with a certificate from another
// CA, and a client with none, are refused, and their write never lands.
// Either the dial or the first call fails (with TLS 1.3 the client learns
// of the refusal only after its handshake completes).
func TestClientCertificateRequired(t *testing.T) {
	e := newEnv(t)
	other := t.TempDir()
	if err := certs.Init(other, certs.Options{ServerName: "localhost"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		tls  *tls.Config
	}{
		{"certificate from another CA", e.tlsConfig(filepath.Join(other, certs.ClientCert), filepath.Join(other, certs.ClientKey), e.file(certs.CACert))},
		{"no client certificate", e.tlsConfig("", "", e.file(certs.CACert))},
		{"server certificate as client certificate", e.tlsConfig(e.file(certs.ServerCert), e.file(certs.ServerKey), e.file(certs.CACert))},
		{"TLS 1.1", func() *tls.Config {
			c := e.tlsConfig(e.file(certs.ClientCert), e.file(certs.ClientKey), e.file(certs.CACert))
			c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
			return c
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The dial blocks until it fails or its timeout: bounded.
			c, err := client.New(&client.Config{Endpoints: []string{e.addr}, DialTimeout: 5 * time.Second, TLS: tc.tls})
			if err == nil {
				defer c.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_, err = c.Groups.GroupPut(ctx, &pb.GroupPutRequest{Group: &storagepb.Group{Id: "intruder", Profile: "p"}})
			}
			if err == nil {
				t.Fatal("the call succeeded")
			}
			if _, ok := e.cats.Current().Catalog.Groups["intruder"]; ok {
				t.Error("the refused client's write landed")
			}
		})
	}
	// The right certificate still works after the refusals.
	c := e.client()
	if _, err := c.Groups.GroupPut(context.Background(), &pb.GroupPutRequest{Group: &storagepb.Group{Id: "ok", Profile: "p"}}); err != nil {
		t.Fatal(err)
	}
}

// TestConfigNamesMissingFlags: a listener without all three files is
// refused, naming the missing flags, before anything listens.
func TestConfigNamesMissingFlags(t *testing.T) {
	dir := t.TempDir()
	if err := certs.Init(dir, certs.Options{ServerName: "localhost"}); err != nil {
		t.Fatal(err)
	}
	f := func(n string) string { return filepath.Join(dir, n) }
	tests := []struct {
		name  string
		files TLSFiles
		want  []string
		not   []string
	}{
		{"none", TLSFiles{}, []string{"--rpc-cert", "--rpc-key", "--rpc-ca", "-cert-file"}, nil},
		{"no ca", TLSFiles{Cert: f(certs.ServerCert), Key: f(certs.ServerKey)}, []string{"--rpc-ca", "-ca-file"}, []string{"--rpc-cert", "--rpc-key"}},
		{"no key", TLSFiles{Cert: f(certs.ServerCert), CA: f(certs.CACert)}, []string{"--rpc-key"}, []string{"--rpc-cert", "--rpc-ca"}},
		{"unreadable ca", TLSFiles{Cert: f(certs.ServerCert), Key: f(certs.ServerKey), CA: f("nope.crt")}, []string{"--rpc-ca", "nope.crt"}, nil},
		{"ca without certificates", TLSFiles{Cert: f(certs.ServerCert), Key: f(certs.ServerKey), CA: f(certs.ServerKey)}, []string{"--rpc-ca", "no PEM certificate"}, nil},
		{"key does not match", TLSFiles{Cert: f(certs.ServerCert), Key: f(certs.ClientKey), CA: f(certs.CACert)}, []string{"--rpc-cert", "--rpc-key"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewServer(Config{TLS: tc.files, Catalog: nopCatalog{}})
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(err.Error(), w+" ") || strings.HasSuffix(err.Error(), w) {
					t.Errorf("error %q names %q, which is set", err, w)
				}
			}
		})
	}
	// All three: TLS 1.2 minimum, client certificates required.
	conf, err := TLSFiles{Cert: f(certs.ServerCert), Key: f(certs.ServerKey), CA: f(certs.CACert)}.Config()
	if err != nil {
		t.Fatal(err)
	}
	if conf.MinVersion != tls.VersionTLS12 || conf.ClientAuth != tls.RequireAndVerifyClientCert || conf.ClientCAs == nil {
		t.Errorf("TLS config: min %x, client auth %v", conf.MinVersion, conf.ClientAuth)
	}
}

// nopCatalog is a Catalog for tests that never reach it.
type nopCatalog struct{}

func (nopCatalog) Current() *catalog.Snapshot { return nil }
func (nopCatalog) Update(context.Context, func(*catalog.Catalog) error) (*catalog.Snapshot, []string, error) {
	return nil, nil, errors.New("nopCatalog")
}

// TestReloadTLS: after the files are replaced (a new CA, as when the
// certificates are rotated) and ReloadTLS, a client of the new CA is
// accepted and one of the old CA refused; a reload that fails keeps the
// files in use.
func TestReloadTLS(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	saved := t.TempDir() // the old client's files
	for _, f := range []string{certs.ClientCert, certs.ClientKey} {
		data, err := os.ReadFile(e.file(f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(saved, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	caPEM, err := os.ReadFile(e.file(certs.CACert))
	if err != nil {
		t.Fatal(err)
	}

	// A broken file: the reload fails and the old files stay in use.
	if err := os.WriteFile(e.file(certs.CACert), []byte("not PEM"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.ReloadTLS(); err == nil || !strings.Contains(err.Error(), "--rpc-ca") {
		t.Errorf("ReloadTLS with a broken CA file: %v", err)
	}
	if err := os.WriteFile(e.file(certs.CACert), caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client().Groups.GroupList(ctx, &pb.GroupListRequest{}); err != nil {
		t.Errorf("a new connection after a failed reload: %v", err)
	}

	// Rotate: every file from a new CA.
	rotated := t.TempDir()
	if err := certs.Init(rotated, certs.Options{ServerName: "localhost"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range certs.Files {
		data, err := os.ReadFile(filepath.Join(rotated, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(e.file(f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.srv.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client().Groups.GroupList(ctx, &pb.GroupListRequest{}); err != nil {
		t.Errorf("a client of the new CA: %v", err)
	}
	// The old client certificate, trusting the new server certificate.
	c, err := client.New(&client.Config{Endpoints: []string{e.addr}, DialTimeout: 5 * time.Second,
		TLS: e.tlsConfig(filepath.Join(saved, certs.ClientCert), filepath.Join(saved, certs.ClientKey), e.file(certs.CACert))})
	if err == nil {
		defer c.Close()
		_, err = c.Groups.GroupList(ctx, &pb.GroupListRequest{})
	}
	if err == nil {
		t.Error("a client certificate of the old CA accepted after the rotation")
	}
}
