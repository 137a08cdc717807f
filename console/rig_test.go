package console

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/server"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/bolt"
)

// testToken is the rig's admin token.
const testToken = "console-test-token-0123456789abcdef"

// rig is the console served as provisiond serves it, from real pieces,
// for the tests that look inside it (its sessions, its hub, a fake
// lifecycle that records what it was asked); the browser test runs
// against a real provisiond serve instead (serve_browser_test.go). The
// pieces: a bbolt store in a temporary directory, the production example
// catalog applied to it, the real boot server recording to a real
// inventory recorder through the hub, and the console mounted under
// /console/ on a second listener, like the admin listener. Both listen on
// 127.0.0.1.
type rig struct {
	Boot     *httptest.Server
	Admin    *httptest.Server
	Console  *Console
	Hub      *Hub
	Rec      *inventory.Recorder
	Life     *fakeLifecycle
	Leases   *ipam.Table
	Catalogs *storage.Catalogs
}

func newRig(t testing.TB, cfg Config) *rig {
	t.Helper()
	ctx := context.Background()
	store, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	table := ipam.NewTable(nil)
	rec := inventory.NewRecorder(store, nil, log)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { rec.Run(runCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })

	hub := NewHub(0, 0)
	srv := server.New(server.Config{Logger: log, Allocator: store, Leases: table, Recorder: hub.Tee(rec)})
	catalogs := &storage.Catalogs{Store: store, Leases: table, Swap: srv.Swap}
	c, err := catalog.LoadDir("../examples/production")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := catalogs.Replace(ctx, c); err != nil {
		t.Fatal(err)
	}
	boot := httptest.NewServer(srv)
	t.Cleanup(boot.Close)

	life := &fakeLifecycle{}
	cfg.Logger = log
	cfg.Auth = tokenAuth{tokens: []string{testToken}}
	cfg.Catalogs, cfg.Inventory, cfg.Leases, cfg.Hub = catalogs, rec, table, hub
	cfg.Previewer = &ResolvePreviewer{Catalogs: catalogs, Leases: table, Inventory: rec, ServerURL: boot.URL}
	cfg.Lifecycle = life
	con, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(con.Prefix()+"/", con)
	admin := httptest.NewServer(mux)
	t.Cleanup(admin.Close)
	// Cleanups run last first: end the live views, as provisiond's
	// shutdown does, so that Close does not wait for a browser's stream.
	t.Cleanup(con.Close)
	return &rig{Boot: boot, Admin: admin, Console: con, Hub: hub, Rec: rec, Life: life, Leases: table, Catalogs: catalogs}
}

// boot makes one boot request, as a machine's firmware does.
func (r *rig) boot(t testing.TB, endpoint string, q url.Values) int {
	t.Helper()
	return bootAt(t, r.Boot.URL, endpoint, q)
}

// bootAt makes one boot request to the boot listener at base.
func bootAt(t testing.TB, base, endpoint string, q url.Values) int {
	t.Helper()
	resp, err := http.Get(base + endpoint + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// The production example's machines.
const (
	node1MAC  = "52:54:00:89:d8:10"
	worker1   = "52:54:00:aa:00:01"
	worker2   = "52:54:00:aa:00:02"
	strangerM = "52:54:00:ff:00:01"
)

// bootFleet boots the services node node1 and two workers through the
// real boot endpoints, and lets one unknown machine ask.
func (r *rig) bootFleet(t testing.TB) {
	t.Helper()
	bootFleetAt(t, r.Boot.URL)
}

// bootFleetAt is bootFleet against the boot listener at base.
func bootFleetAt(t testing.TB, base string) {
	t.Helper()
	for _, s := range []struct {
		endpoint string
		q        url.Values
		want     int
	}{
		{"/ipxe", url.Values{"mac": {node1MAC}}, 200},
		{"/ignition", url.Values{"mac": {node1MAC}}, 200},
		{"/ipxe", url.Values{"mac": {worker1}, "role": {"worker"}}, 200},
		{"/ignition", url.Values{"mac": {worker1}, "role": {"worker"}}, 200},
		{"/ipxe", url.Values{"mac": {worker2}, "role": {"worker"}, "cabinet": {"two"}}, 200},
		{"/ipxe", url.Values{"mac": {strangerM}}, 404},
	} {
		if got := bootAt(t, base, s.endpoint, s.q); got != s.want {
			t.Fatalf("%s?%s: %d, want %d", s.endpoint, s.q.Encode(), got, s.want)
		}
	}
}

// tokenAuth accepts its tokens, and verified client certificates, as the
// admin API's authenticator does.
type tokenAuth struct{ tokens []string }

func (a tokenAuth) Authenticate(r *http.Request) (string, bool) {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		return "cert:" + r.TLS.VerifiedChains[0][0].Subject.CommonName, true
	}
	return "", false
}

func (a tokenAuth) CheckToken(token string) (string, bool) {
	sum := sha256.Sum256([]byte(token))
	ok := 0
	for _, t := range a.tokens {
		want := sha256.Sum256([]byte(t))
		ok |= subtle.ConstantTimeCompare(sum[:], want[:])
	}
	return "token:" + hex.EncodeToString(sum[:4]), ok == 1
}

// fakeLifecycle offers one action and records what was done.
type fakeLifecycle struct {
	mu   sync.Mutex
	done []string
}

func (f *fakeLifecycle) Actions(key string) []Action {
	return []Action{{Name: "reprovision", Label: "Reprovision", Danger: true}}
}

func (f *fakeLifecycle) Do(ctx context.Context, key, action, who string) (string, error) {
	if action != "reprovision" {
		return "", fmt.Errorf("no action %q", action)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.done = append(f.done, key+" "+action+" by "+who)
	return key + " will network-boot on its next power cycle", nil
}

func (f *fakeLifecycle) Done() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.done...)
}

// client is a browser-like HTTP client: it keeps cookies and does not
// follow redirects, so tests see every 303.
func client(t testing.TB) *http.Client {
	t.Helper()
	return &http.Client{
		Jar:           newJar(t),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
}

// body reads a response's body, closing it.
func body(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// hidden returns the value of the hidden input named name in page.
func hidden(t testing.TB, page, name string) string {
	t.Helper()
	marker := `name="` + name + `" value="`
	i := strings.Index(page, marker)
	if i < 0 {
		t.Fatalf("no hidden %s in the page:\n%s", name, page)
	}
	rest := page[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}
func newJar(t testing.TB) http.CookieJar {
	j, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return j
}
