package rpc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/poseidon/matchbox/matchbox/client"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/internal/certs"
	"github.com/provisiond/provisiond/internal/testutil"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/bolt"
)

// env is a running rpc server over a real bbolt store, with certificates
// from certs.Init.
type env struct {
	t     *testing.T
	dir   string // certificates
	addr  string
	store *bolt.Store
	cats  *storage.Catalogs
	logs  *testutil.SyncBuffer
	srv   *Server
	reg   *prometheus.Registry
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), logs: &testutil.SyncBuffer{}, reg: prometheus.NewRegistry()}
	if err := certs.Init(e.dir, certs.Options{ServerName: "localhost", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}); err != nil {
		t.Fatal(err)
	}
	var err error
	if e.store, err = bolt.Open(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	e.cats = &storage.Catalogs{Store: e.store, Leases: ipam.NewTable(nil)}
	if _, _, err := e.cats.LoadStored(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(Config{
		TLS:      TLSFiles{Cert: e.file(certs.ServerCert), Key: e.file(certs.ServerKey), CA: e.file(certs.CACert)},
		Catalog:  e.cats,
		Registry: e.reg,
		Logger:   slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", e.logs.String())
		}
	})
	return e
}

func (e *env) file(name string) string { return filepath.Join(e.dir, name) }

// tlsConfig is what terraform-provider-matchbox builds from its
// client_cert, client_key and ca: a client certificate and the CA as roots.
func (e *env) tlsConfig(certFile, keyFile, caFile string) *tls.Config {
	e.t.Helper()
	conf := &tls.Config{ServerName: "localhost", MinVersion: tls.VersionTLS12}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			e.t.Fatal(err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		e.t.Fatal(err)
	}
	conf.RootCAs = x509.NewCertPool()
	conf.RootCAs.AppendCertsFromPEM(pem)
	return conf
}

// client dials with matchbox's own Go client, as the provider does.
func (e *env) client() *client.Client {
	e.t.Helper()
	c, err := client.New(&client.Config{
		Endpoints:   []string{e.addr},
		DialTimeout: 30 * time.Second,
		TLS:         e.tlsConfig(e.file(certs.ClientCert), e.file(certs.ClientKey), e.file(certs.CACert)),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// stored reads the catalog back from the store, as a restart or another
// replica would.
func (e *env) stored() *catalog.Catalog {
	e.t.Helper()
	c, err := e.store.LoadCatalog(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}
