package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/storage/bolt"
)

// daemonConfig is serve's configuration from args, checked.
func daemonConfig(t *testing.T, args ...string) serveConfig {
	t.Helper()
	var cfg serveConfig
	fs := serveFlags(&cfg)
	fs.SetOutput(io.Discard)
	args = append([]string{"--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, args...)
	if err := parseWithEnv(fs, args, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if err := checkConfig(&cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDaemonLifecycle: Start serves the catalog on both listeners, Reload
// serves a changed one, Stop closes the listeners and releases the store.
func TestDaemonLifecycle(t *testing.T) {
	cat := copyDir(t, testCatalog)
	cfg := daemonConfig(t, "--catalog", cat)
	d := newDaemon(cfg, slog.New(slog.DiscardHandler))
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			d.Stop()
		}
	}()
	boot, admin := d.URL("boot"), d.URL("admin")
	if code, body := httpGet(t, boot+"/ipxe?mac=52:54:00:00:00:01&role=worker"); code != 200 || !strings.Contains(body, "#!ipxe") {
		t.Fatalf("/ipxe: %d %s", code, body)
	}
	if code, body := httpGet(t, admin+"/api/v1/groups/worker"); code != 200 || !strings.Contains(body, `"worker"`) {
		t.Fatalf("admin: %d %s", code, body)
	}

	os.WriteFile(filepath.Join(cat, "groups", "worker.json"), []byte(`{"id":"worker","profile":"raw","selector":{"role":"worker"}}`), 0o644)
	d.Reload(context.Background())
	if code, body := httpGet(t, boot+"/ignition?mac=52:54:00:00:00:01&role=worker"); code != 200 || !strings.Contains(body, "/etc/raw") {
		t.Errorf("after Reload: %d %s", code, body)
	}

	d.Stop()
	stopped = true
	if _, err := http.Get(boot + "/healthz"); err == nil {
		t.Error("the boot listener still answers after Stop")
	}
	s, err := bolt.Open(cfg.DataDir)
	if err != nil {
		t.Fatalf("the store is still held after Stop: %v", err)
	}
	s.Close()
}

// TestDaemonFailedStartReleasesAll: a Start that fails after opening the
// store and the boot listener (here: the admin address is taken) closes
// them again, so the next start can have them.
func TestDaemonFailedStartReleasesAll(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := daemonConfig(t, "--catalog", testCatalog, "--admin-addr", taken.Addr().String())
	d := newDaemon(cfg, slog.New(slog.DiscardHandler))
	err = d.Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "--admin-addr") {
		t.Fatalf("Start: %v, want a refusal naming --admin-addr", err)
	}
	if boot := d.URL("boot"); boot == "" {
		t.Fatal("the boot listener was not started first")
	} else if _, err := http.Get(boot + "/healthz"); err == nil {
		t.Error("the boot listener of a failed Start still answers")
	}
	s, err := bolt.Open(cfg.DataDir)
	if err != nil {
		t.Fatalf("the store of a failed Start is still held: %v", err)
	}
	s.Close()
}
