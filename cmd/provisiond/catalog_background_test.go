package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/internal/testutil"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/server"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/bolt"
)

// bgServer is a restarted provisiond's catalog start-up in one process:
// a bbolt store, the boot server on a loopback listener, and the loader
// of --catalog dir, whose directory reads wait for release.
type bgServer struct {
	store    *bolt.Store
	catalogs *storage.Catalogs
	loader   *catalogLoader
	url      string
	logs     *testutil.SyncBuffer
	failed   chan error
	entered  chan struct{} // a directory read began
	release  chan struct{} // let it go on
}

func newBGServer(t *testing.T, data, dir string, allowRelease bool) *bgServer {
	t.Helper()
	st, err := bolt.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	leases, err := st.Leases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	table := ipam.NewTable(leases)
	b := &bgServer{store: st, logs: &testutil.SyncBuffer{}, failed: make(chan error, 1), entered: make(chan struct{}, 1), release: make(chan struct{})}
	log := slog.New(slog.NewJSONHandler(b.logs, nil))
	b.catalogs = &storage.Catalogs{Store: st, Leases: table}
	b.loader = &catalogLoader{dir: dir, catalogs: b.catalogs, log: log, allowRelease: allowRelease,
		fail: func(err error) { b.failed <- err },
		loadDir: func(dir string) (*catalog.Catalog, error) {
			b.entered <- struct{}{}
			<-b.release
			return catalog.LoadDir(dir)
		}}
	srv := server.New(server.Config{Logger: log, Allocator: st, Leases: table, Readiness: b.loader.readiness})
	b.catalogs.Swap = srv.Swap
	hs := httptest.NewServer(srv)
	b.url = hs.URL
	t.Cleanup(func() {
		hs.Close()
		b.loader.wait()
		st.Close()
	})
	return b
}

func (b *bgServer) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(b.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// waitLog waits for a log line holding want.
func (b *bgServer) waitLog(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(b.logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q:\n%s", want, b.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// bgCatalog writes a catalog whose kernel argument says version v, with
// machine n1 pinned (unless unpinned).
func bgCatalog(t *testing.T, dir, v string, pinned bool) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "profiles/svc.json"), `{"id": "svc", "boot": {"kernel": "/assets/vmlinuz", "args": ["v=`+v+`", "ip={{.ip.address}}"]}}`)
	writeFile(t, filepath.Join(dir, "groups/svc.json"), `{"id": "svc", "profile": "svc", "selector": {"role": "services"}, "pool": "svc"}`)
	writeFile(t, filepath.Join(dir, "pools/svc.json"), `{"name": "svc", "cidr": "10.7.0.0/24", "start": "10.7.0.20", "end": "10.7.0.40"}`)
	writeFile(t, filepath.Join(dir, "machines/n2.json"), `{"name": "n2", "mac": "52:54:00:07:00:02", "labels": {"role": "services"}}`)
	if pinned {
		writeFile(t, filepath.Join(dir, "machines/n1.json"), `{"name": "n1", "mac": "52:54:00:07:00:01", "labels": {"role": "services"}, "leases": {"svc": "10.7.0.21"}}`)
	}
}

// firstStart loads dir into a new database at data, as a first start
// does (before serving), and returns the stored revision.
func firstStart(t *testing.T, data, dir string) storage.Revision {
	t.Helper()
	b := newBGServer(t, data, dir, false)
	close(b.release) // entered has room for the one read
	if _, err := b.loader.initial(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.logs.String(), `"msg":"catalog loaded"`) || strings.Contains(b.logs.String(), "while") {
		t.Fatalf("a first start did not load the directory before serving:\n%s", b.logs.String())
	}
	if code, body := b.get(t, "/readyz"); code != 200 || !strings.Contains(body, "serving --catalog "+dir) {
		t.Errorf("/readyz after a first start: %d %q", code, body)
	}
	rev, _ := b.catalogs.Revision()
	b.loader.wait()
	b.store.Close()
	return rev
}

// TestCatalogLoadsWhileStoredServed: restarted with --catalog over a
// stored catalog, provisiond serves the stored catalog while the
// directory loads (a boot then gets the stored catalog's answer, and
// /readyz says which is served), then the directory's; the end state is
// that of a start with --catalog on a new database.
func TestCatalogLoadsWhileStoredServed(t *testing.T) {
	data, dir := t.TempDir(), t.TempDir()
	bgCatalog(t, dir, "A", true)
	firstStart(t, data, dir)

	bgCatalog(t, dir, "B", true)
	b := newBGServer(t, data, dir, false)
	if _, err := b.loader.initial(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-b.entered // the directory read has begun, and waits
	b.waitLog(t, "serving the stored catalog (revision ")
	b.waitLog(t, "while "+dir+" loads")
	if code, body := b.get(t, "/ipxe?mac=52:54:00:07:00:01"); code != 200 || !strings.Contains(body, "v=A") || !strings.Contains(body, "ip=10.7.0.21") {
		t.Errorf("a boot during the load: %d %s, want the stored catalog's v=A", code, body)
	}
	if code, body := b.get(t, "/readyz"); code != 200 || !strings.Contains(body, "serving the stored catalog") || !strings.Contains(body, "while --catalog "+dir+" loads") {
		t.Errorf("/readyz during the load: %d %q", code, body)
	}
	close(b.release)
	b.waitLog(t, "catalog directory loaded: serving "+dir)
	if code, body := b.get(t, "/ipxe?mac=52:54:00:07:00:01"); code != 200 || !strings.Contains(body, "v=B") || !strings.Contains(body, "ip=10.7.0.21") {
		t.Errorf("a boot after the load: %d %s, want the directory's v=B", code, body)
	}
	if code, body := b.get(t, "/readyz"); code != 200 || !strings.Contains(body, "serving --catalog "+dir) {
		t.Errorf("/readyz after the load: %d %q", code, body)
	}
	select {
	case err := <-b.failed:
		t.Fatalf("the load failed the process: %v", err)
	default:
	}
	rev, _ := b.catalogs.Revision()

	// The same directory loaded on a new database, as a first start:
	// the same stored catalog, byte for byte (the revision is its digest).
	if want := firstStart(t, t.TempDir(), dir); rev != want {
		t.Errorf("stored revision %016x after the load in the background, %016x after a first start", uint64(rev), uint64(want))
	}
}

// TestCatalogRefusedWhileStoredServed: a directory the release guard
// refuses (it drops a pinned machine) leaves the stored catalog served
// and stored while it loads and after, logs an ERROR naming --catalog and
// the machine, says so on /readyz (503), and ends the process with the
// error, as a refused --catalog ends a first start.
func TestCatalogRefusedWhileStoredServed(t *testing.T) {
	data, dir := t.TempDir(), t.TempDir()
	bgCatalog(t, dir, "A", true)
	stored := firstStart(t, data, dir)

	bad := t.TempDir()
	bgCatalog(t, bad, "B", false)
	b := newBGServer(t, data, bad, false)
	if _, err := b.loader.initial(context.Background()); err != nil {
		t.Fatalf("the start was refused before serving the stored catalog: %v", err)
	}
	<-b.entered
	if code, body := b.get(t, "/ipxe?mac=52:54:00:07:00:01"); code != 200 || !strings.Contains(body, "v=A") {
		t.Errorf("a boot during the load: %d %s", code, body)
	}
	close(b.release)
	var err error
	select {
	case err = <-b.failed:
	case <-time.After(30 * time.Second):
		t.Fatalf("the refused directory did not end the process:\n%s", b.logs.String())
	}
	if msg := err.Error(); !strings.Contains(msg, "--catalog "+bad) || !strings.Contains(msg, "n1 svc/10.7.0.21") || !strings.Contains(msg, "--allow-release") {
		t.Errorf("refusal: %q", msg)
	}
	b.waitLog(t, `"level":"ERROR","msg":"--catalog `+bad+` refused`)
	if code, body := b.get(t, "/ipxe?mac=52:54:00:07:00:01"); code != 200 || !strings.Contains(body, "v=A") || !strings.Contains(body, "ip=10.7.0.21") {
		t.Errorf("a boot after the refusal: %d %s, want the stored catalog's", code, body)
	}
	if code, body := b.get(t, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "--allow-release") {
		t.Errorf("/readyz after the refusal: %d %q", code, body)
	}
	if rev, _ := b.catalogs.Revision(); rev != stored {
		t.Errorf("served revision %016x, want the stored %016x", uint64(rev), uint64(stored))
	}
	if _, rev, err := b.store.LoadCatalogRevision(context.Background()); err != nil || rev != stored {
		t.Errorf("stored revision %016x (%v), want %016x unchanged", uint64(rev), err, uint64(stored))
	}
}
