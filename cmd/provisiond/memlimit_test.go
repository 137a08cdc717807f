package main

import (
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"strings"
	"testing"
)

func TestParseMemoryLimit(t *testing.T) {
	for in, want := range map[string]int64{
		"1000": 1000, "300MiB": 300 << 20, "2GiB": 2 << 30, "512KiB": 512 << 10, "7B": 7, "1TiB": 1 << 40, "off": math.MaxInt64,
	} {
		if got, err := parseMemoryLimit(in); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-5MiB", "300MB", "3.5GiB", "lots", "9999999999TiB"} {
		if _, err := parseMemoryLimit(in); err == nil || !strings.Contains(err.Error(), "--memory-limit") {
			t.Errorf("%q: %v, want an error naming --memory-limit", in, err)
		}
	}
}

// TestMemoryLimitFlag: the flag sets the runtime's limit; a bad value is
// a usage error (exit status 2) naming the flag, before anything starts.
func TestMemoryLimitFlag(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := applyMemoryLimit("300MiB", log); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != 300<<20 {
		t.Errorf("memory limit %d, want %d", got, 300<<20)
	}
	var cfg serveConfig
	fs := serveFlags(&cfg)
	if err := fs.Parse([]string{"--memory-limit", "300MB", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0", "--admin-addr", ""}); err != nil {
		t.Fatal(err)
	}
	err := runServe(t.Context(), cfg, log)
	if err == nil || !strings.Contains(err.Error(), "--memory-limit") {
		t.Fatalf("serve --memory-limit 300MB: %v, want an error naming --memory-limit", err)
	}
}
