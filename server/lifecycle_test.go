package server

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/provisiond/provisiond/internal/testutil"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/lifecycle"
)

// installOnceCatalog writes a catalog with an install-once group.
func installOnceCatalog(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"profiles/installer.json": `{"id": "installer", "boot": {"kernel": "/assets/vmlinuz", "args": ["token={{.boot_token}}"]}}`,
		"groups/install.json":     `{"id": "install", "profile": "installer", "install_once": true, "selector": {"role": "install"}}`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// lifecycleEnv is a boot server with install once and the reports wired
// as provisiond serve wires them: a real recorder over a real bbolt
// file, behind lifecycle.Service.
func lifecycleEnv(t *testing.T, tokens *BootTokens) (*testEnv, *lifecycle.Service) {
	t.Helper()
	var svc *lifecycle.Service
	e := newEnv(t, installOnceCatalog(t), func(c *Config) {
		rec := c.Recorder.(*inventory.Recorder)
		svc = &lifecycle.Service{Inventory: rec}
		c.States, c.Lifecycle, c.BootTokens = rec, svc, tokens
	})
	return e, svc
}

func (e *testEnv) post(path string) (int, string) {
	e.t.Helper()
	code, body, _ := testutil.Do(e.t, http.MethodPost, e.http.URL+path, "")
	return code, body
}

// TestInstallOnceAndReports: a machine of an install-once group boots the
// installer, reports installed, then gets the local-boot script from
// /ipxe and /grub (state unchanged, events marked local_boot) until it is
// marked reprovisioning; a report then is stale (409), and the next /ipxe
// is the installer's again. The hardware facts of its query are kept.
func TestInstallOnceAndReports(t *testing.T) {
	e, svc := lifecycleEnv(t, nil)
	const mac = "52:54:00:12:34:56"
	q := "?mac=52-54-00-12-34-56&role=install"

	code, body, _ := e.get("/ipxe" + q + "&serial=SN-0042&arch=x86_64&uuid=&hostname=")
	if code != 200 || !strings.Contains(body, "kernel /assets/vmlinuz") {
		t.Fatalf("installer /ipxe: %d %q", code, body)
	}
	for _, bad := range []struct{ path, want string }{
		{"/installed", "a mac (or uuid) is required"},
		{"/installed?mac=nonsense", "mac"},
		{"/failed?uuid=not-a-uuid", "uuid"},
	} {
		if code, body := e.post(bad.path); code != 400 || !strings.Contains(body, bad.want) {
			t.Errorf("POST %s: %d %q, want 400 naming %q", bad.path, code, body, bad.want)
		}
	}
	if code, _, _ := e.get("/installed" + q); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /installed: %d, want 405", code)
	}

	code, body = e.post("/installed" + q)
	var m inventory.Machine
	if err := json.Unmarshal([]byte(body), &m); code != 200 || err != nil || m.State != inventory.Installed || m.Key != mac {
		t.Fatalf("POST /installed: %d %s (%v)", code, body, err)
	}

	for _, tc := range []struct{ path, want string }{{"/ipxe", inventory.LocalBootIPXE}, {"/grub", inventory.LocalBootGRUB}} {
		code, body, hdr := e.get(tc.path + q)
		if code != 200 || body != tc.want || hdr.Get("Cache-Control") != "no-store" {
			t.Errorf("%s of an installed machine: %d %q (Cache-Control %q), want %q", tc.path, code, body, hdr.Get("Cache-Control"), tc.want)
		}
	}
	rec, _ := e.rec.Get(mac)
	last := rec.Events[len(rec.Events)-1]
	if rec.State != inventory.Installed || !last.LocalBoot || last.Endpoint != "/grub" {
		t.Errorf("after local boots: state %s, last event %+v", rec.State, last)
	}
	if h := rec.Hardware; h == nil || *h != (inventory.Hardware{Serial: "SN-0042", Arch: "x86_64"}) {
		t.Errorf("hardware %+v, want serial SN-0042, arch x86_64", h)
	}

	if _, err := svc.SetState(t.Context(), lifecycle.Machine{MAC: mac}, inventory.Reprovisioning, "new disk"); err != nil {
		t.Fatal(err)
	}
	if code, body := e.post("/installed" + q); code != 409 || !strings.Contains(body, "state change refused") {
		t.Errorf("stale report while reprovisioning: %d %q, want 409", code, body)
	}
	if code, body, _ := e.get("/ipxe" + q); code != 200 || !strings.Contains(body, "kernel /assets/vmlinuz") {
		t.Errorf("/ipxe while reprovisioning: %d %q, want the installer", code, body)
	}
	if code, body := e.post("/failed" + q); code != 200 || !strings.Contains(body, `"state": "failed"`) {
		t.Errorf("POST /failed: %d %q", code, body)
	}
	rec, _ = e.rec.Get(mac)
	var changes []string
	for _, c := range rec.Changes {
		changes = append(changes, string(c.To)+"("+c.Cause+")")
	}
	want := "booting(/ipxe) installed(/installed) reprovisioning(operator: new disk) booting(/ipxe) failed(/failed)"
	if got := strings.Join(changes, " "); got != want {
		t.Errorf("timeline %s\nwant     %s", got, want)
	}
}

// TestReportNeedsToken: with boot tokens on, a report needs the token of
// its mac (403 without, or with another mac's), as the configs do.
func TestReportNeedsToken(t *testing.T) {
	tokens := NewBootTokens([]string{"report-secret-0123456789"}, time.Hour)
	e, _ := lifecycleEnv(t, tokens)
	const mac = "52:54:00:12:34:57"
	for _, path := range []string{
		"/installed?mac=" + mac,
		"/installed?mac=" + mac + "&token=" + tokens.Issue("52:54:00:00:00:01"),
		"/failed?mac=" + mac + "&token=garbage",
	} {
		if code, body := e.post(path); code != 403 {
			t.Errorf("POST %s: %d %q, want 403", path, code, body)
		}
	}
	if m, ok := e.rec.Get(mac); ok {
		t.Errorf("a refused report was recorded: %+v", m)
	}
	if code, body := e.post("/installed?mac=" + mac + "&token=" + tokens.Issue(mac)); code != 200 || !strings.Contains(body, `"state": "installed"`) {
		t.Errorf("POST /installed with its token: %d %q", code, body)
	}
}

// TestReportsNotServedWithoutLifecycle: without a Lifecycle the report
// routes do not exist.
func TestReportsNotServedWithoutLifecycle(t *testing.T) {
	e := newEnv(t, testCatalog)
	if code, _, _ := testutil.Do(t, http.MethodPost, e.http.URL+"/installed?mac=52:54:00:00:00:01", ""); code != 404 && code != 405 {
		t.Errorf("POST /installed without a lifecycle: %d", code)
	}
}
