package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/provisiond/provisiond/assets"
	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/internal/catalogen"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/server"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/bolt"
)

func TestCheckLoopback(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.1.2.3:80", true},
		{"http://[::1]:8080", true},
		{"http://localhost:8080", true},
		{"http://10.0.0.1:8080", false},
		{"http://example.com:8080", false},
		{"http://0.0.0.0:8080", false},
		{"http://[::]:8080", false},
		{"https://127.0.0.1:8443", false},
		{"127.0.0.1:8080", false},
	} {
		if err := checkLoopback(tc.url); (err == nil) != tc.ok {
			t.Errorf("checkLoopback(%q) = %v, want ok %v", tc.url, err, tc.ok)
		}
	}
}

func TestRunRefusesRemoteServer(t *testing.T) {
	t.Setenv(pinnedEnv, "1")
	if code := run([]string{"--server", "http://192.0.2.1:8080"}, io.Discard, io.Discard); code != 2 {
		t.Fatalf("exit code %d for a remote --server, want 2", code)
	}
}

func TestParseWrk(t *testing.T) {
	out := `Running 10s test @ http://127.0.0.1:8080
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   210.18us   65.57us   4.02ms   86.11%
    Req/Sec    72.56k     3.21k   78.52k    74.00%
  Latency Distribution
     50%  201.00us
     75%  231.00us
     90%  274.00us
     99%  1.25ms
  722233 requests in 10.00s, 148.10MB read
  Non-2xx or 3xx responses: 12
Requests/sec:  72214.10
Transfer/sec:     14.81MB
`
	s, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if s.PerSecond != 72214.10 || s.Requests != 722233 || s.Errors != 12 ||
		s.P50 != 201*time.Microsecond || s.P99 != 1250*time.Microsecond || s.Max != 4020*time.Microsecond {
		t.Errorf("parsed %+v", s)
	}
}

// TestStorm plays a small storm against a real server over loopback:
// every machine completes the sequence, with a distinct address, and a
// second pass gives every machine the same address back.
func TestStorm(t *testing.T) {
	const n = 60
	c, err := catalogen.New(n)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := catalogen.WriteAssets(root, 2<<20, 1<<10); err != nil {
		t.Fatal(err)
	}
	store, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	table := ipam.NewTable(nil)
	snap, _, err := storage.Apply(t.Context(), store, table, c, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	a, err := assets.New(root, log)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := server.New(server.Config{Logger: log, Allocator: store, Leases: table, Recorder: inventory.NewRecorder(store, nil, log), Assets: a})
	srv.Swap(snap)
	hs := httptest.NewServer(srv)
	defer hs.Close()

	res, err := runStorm(context.Background(), hs.URL, catalogen.Pooled, n, 8)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 0 || res.Duplicates != 0 || res.Addresses != n {
		t.Fatalf("storm: %d failed, %d duplicates, %d addresses of %d; endpoints %+v", res.Failed, res.Duplicates, res.Addresses, n, res.Endpoints)
	}
	same, checked, err := checkDurable(context.Background(), hs.URL, res, 4)
	if err != nil || same != n || checked != n {
		t.Fatalf("second pass: %d of %d the same (%d checked): %v", same, n, checked, err)
	}
	if _, err := os.Stat(filepath.Join(root, catalogen.KernelPath)); err != nil {
		t.Fatal(err)
	}
}
