package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/provisiond/provisiond/assets"
	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/internal/testutil"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/bolt"
)

// testEnv is a real server on a loopback port, backed by a real bbolt file.
type testEnv struct {
	t     *testing.T
	srv   *Server
	http  *httptest.Server
	store *bolt.Store
	table *ipam.Table
	rec   *inventory.Recorder
	reg   *prometheus.Registry
	logs  *testutil.SyncBuffer
}

// newEnv serves the catalog in dir (a matchbox-layout directory); opts
// adjust the server's Config.
func newEnv(t *testing.T, dir string, opts ...func(*Config)) *testEnv {
	t.Helper()
	e := &testEnv{t: t, logs: &testutil.SyncBuffer{}, reg: prometheus.NewRegistry()}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var err error
	e.store, err = bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	e.table = ipam.NewTable(nil)
	c, err := catalog.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	snap, _, err := storage.Apply(context.Background(), e.store, e.table, c, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.rec = inventory.NewRecorder(e.store, nil, log)
	var ah http.Handler
	if st, err := os.Stat(filepath.Join(dir, "assets")); err == nil && st.IsDir() {
		a, err := assets.New(filepath.Join(dir, "assets"), log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		ah = a
	}
	cfg := Config{Logger: log, Allocator: e.store, Leases: e.table, Recorder: e.rec, Assets: ah, Registry: e.reg}
	for _, opt := range opts {
		opt(&cfg)
	}
	e.srv = New(cfg)
	e.srv.Swap(snap)
	e.http = httptest.NewServer(e.srv)
	t.Cleanup(e.http.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", e.logs.String())
		}
	})
	return e
}

// get fetches path and returns status, body and header.
func (e *testEnv) get(path string, hdr ...string) (int, string, http.Header) {
	e.t.Helper()
	return testutil.Do(e.t, http.MethodGet, e.http.URL+path, "", hdr...)
}

// host returns "127.0.0.1:PORT" of the test server, to neutralize it in
// golden output.
func (e *testEnv) host() string { return strings.TrimPrefix(e.http.URL, "http://") }

// writeCatalog writes files (path -> content) under a fresh directory.
func writeCatalog(t *testing.T, files map[string]string) string {
	return testutil.WriteFiles(t, files)
}
