package admin

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/internal/testutil"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/server"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/bolt"
)

// adminEnv is a boot server and an admin API over loopback, sharing a
// real bbolt store, lease table, inventory and storage.Catalogs, wired as
// provisiond serve wires them.
type adminEnv struct {
	t     testing.TB
	srv   *server.Server
	adm   *API
	boot  *httptest.Server
	admin *httptest.Server
	cats  *storage.Catalogs
	store *bolt.Store
	table *ipam.Table
	rec   *inventory.Recorder
	reg   *prometheus.Registry
	stats *catalog.CacheStats
	logs  *testutil.SyncBuffer
}

const testCatalogDir = "../testdata/catalog"

// newAdminEnv serves the catalog in dir ("" for an empty store) with the
// admin API behind auth (nil: none).
func newAdminEnv(t testing.TB, dir string, auth *Auth) *adminEnv {
	t.Helper()
	e := &adminEnv{t: t, logs: &testutil.SyncBuffer{}, reg: prometheus.NewRegistry(), stats: &catalog.CacheStats{}}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var err error
	if e.store, err = bolt.Open(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	e.table = ipam.NewTable(nil)
	e.rec = inventory.NewRecorder(e.store, nil, log)
	timed := &storage.Timed{Store: e.store, Observe: storage.NewMetrics(e.reg).Observe}
	e.srv = server.New(server.Config{Logger: log, Allocator: timed, Leases: e.table, Recorder: e.rec, Registry: e.reg, CacheStats: e.stats, Machines: e.rec})
	e.cats = &storage.Catalogs{Store: timed, Leases: e.table, Swap: e.srv.Swap, Options: catalog.Options{Stats: e.stats}}
	if dir != "" {
		c, err := catalog.LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.cats.Replace(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	} else if _, _, err := e.cats.LoadStored(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.boot = httptest.NewServer(e.srv)
	t.Cleanup(e.boot.Close)
	e.adm = New(Config{Logger: log, Catalogs: e.cats, Releaser: e.cats, Inventory: e.rec, Leases: e.table,
		Auth: auth, Registry: e.reg, BootURL: e.boot.URL, MaxBodyBytes: 1 << 20, Backup: e.store.BackupHandler()})
	e.admin = httptest.NewServer(e.adm)
	t.Cleanup(e.admin.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", e.logs.String())
		}
	})
	return e
}

// do sends a request to the admin API; hdr are header name, value pairs.
func (e *adminEnv) do(method, path, body string, hdr ...string) (int, string, http.Header) {
	e.t.Helper()
	return testutil.Do(e.t, method, e.admin.URL+path, body, hdr...)
}

// bootGet fetches path from the boot listener.
func (e *adminEnv) bootGet(path string, hdr ...string) (int, string, http.Header) {
	e.t.Helper()
	return testutil.Do(e.t, http.MethodGet, e.boot.URL+path, "", hdr...)
}
