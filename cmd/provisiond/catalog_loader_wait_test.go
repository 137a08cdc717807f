package main

import (
	"context"
	"github.com/provisiond/provisiond/internal/testutil"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hasPool says whether the catalog b serves has the pool.
func (b *bgServer) hasPool(pool string) func() bool {
	return func() bool {
		snap := b.catalogs.Current()
		return snap != nil && snap.Catalog.Pools[pool] != nil
	}
}

// TestDHCPPoolWaitsForTheDirectory: restarted with --catalog over a
// stored catalog, with --dhcp-range naming a pool only the directory has
// (added with the flag), full DHCP's check of its pool waits for the
// directory's catalog instead of refusing the start over the stored one,
// and says so in the log; a pool the stored catalog has does not wait.
func TestDHCPPoolWaitsForTheDirectory(t *testing.T) {
	data, dir := t.TempDir(), t.TempDir()
	bgCatalog(t, dir, "A", true)
	firstStart(t, data, dir)

	bgCatalog(t, dir, "B", true)
	writeFile(t, filepath.Join(dir, "pools/lab.json"), `{"name": "lab", "cidr": "10.8.0.0/24", "start": "10.8.0.20", "end": "10.8.0.40"}`)
	b := newBGServer(t, data, dir, false)
	if _, err := b.loader.initial(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-b.entered // the directory read has begun, and waits

	// A pool the stored catalog has: no wait.
	if err := b.loader.awaitDHCPPool("svc", b.hasPool("svc")); err != nil {
		t.Fatalf("pool svc, stored: %v", err)
	}
	if strings.Contains(b.logs.String(), "full DHCP starts once") {
		t.Fatalf("waited for a pool the stored catalog has:\n%s", b.logs.String())
	}

	done := make(chan error, 1)
	go func() { done <- b.loader.awaitDHCPPool("lab", b.hasPool("lab")) }()
	b.waitLog(t, `the stored catalog has no pool \"lab\" (--dhcp-range): full DHCP starts once `+dir+` is loaded`)
	select {
	case err := <-done:
		t.Fatalf("returned (%v) before the directory was loaded", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(b.release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("after the load: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still waiting 30 s after the directory was released:\n%s", b.logs.String())
	}
	if !b.hasPool("lab")() {
		t.Errorf("the wait ended, and the served catalog has no pool lab")
	}
}

// TestDHCPPoolWaitReturnsTheRefusal: when the directory the check waits
// for is refused, the wait returns the refusal (naming --catalog), not a
// missing pool.
func TestDHCPPoolWaitReturnsTheRefusal(t *testing.T) {
	data, dir := t.TempDir(), t.TempDir()
	bgCatalog(t, dir, "A", true)
	firstStart(t, data, dir)

	bad := t.TempDir()
	bgCatalog(t, bad, "B", false) // drops pinned n1: the release guard refuses it
	writeFile(t, filepath.Join(bad, "pools/lab.json"), `{"name": "lab", "cidr": "10.8.0.0/24", "start": "10.8.0.20", "end": "10.8.0.40"}`)
	b := newBGServer(t, data, bad, false)
	if _, err := b.loader.initial(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-b.entered
	close(b.release)
	err := b.loader.awaitDHCPPool("lab", b.hasPool("lab"))
	if err == nil || !strings.Contains(err.Error(), "--catalog "+bad) || !strings.Contains(err.Error(), "--allow-release") {
		t.Fatalf("err %v, want the directory's refusal", err)
	}
}

// TestServeFullDHCPPoolFromTheDirectory: serve restarted with --catalog
// and full DHCP on a pool added to the directory since the first start
// starts (the pool check sees the directory's catalog), and hands out
// from that pool.
func TestServeFullDHCPPoolFromTheDirectory(t *testing.T) {
	data, dir := t.TempDir(), t.TempDir()
	bgCatalog(t, dir, "A", true)
	firstStart(t, data, dir)
	writeFile(t, filepath.Join(dir, "pools/lab.json"), `{"name": "lab", "cidr": "10.8.0.0/24", "start": "10.8.0.20", "end": "10.8.0.40"}`)

	var cfg serveConfig
	fs := serveFlags(&cfg)
	fs.SetOutput(io.Discard)
	args := []string{"--addr", "127.0.0.1:0", "--admin-addr", "", "--data-dir", data, "--catalog", dir,
		"--dhcp-mode", "full", "--dhcp-range", "lab", "--boot-url", "http://127.0.0.1:8080",
		"--dhcp-addr", "127.0.0.1:0", "--dhcp-pxe-addr", "127.0.0.1:0"}
	if err := parseWithEnv(fs, args, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	logs := &testutil.SyncBuffer{}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil))) }()
	deadline := time.After(60 * time.Second)
	for !strings.Contains(logs.String(), `"listener":"dhcp"`) {
		select {
		case err := <-done:
			t.Fatalf("serve ended before full DHCP was listening: %v\n%s", err, logs.String())
		case <-deadline:
			t.Fatalf("full DHCP not listening after 60 s:\n%s", logs.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
}
