package main

import (
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"testing"
)

// gcPercent returns the garbage collector's target without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestTightenGC: a load lowers the collector's target to loadGCPercent
// and puts the previous one back after it, unless the operator set GOGC
// or a memory limit, which it leaves alone.
func TestTightenGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	t.Setenv("GOGC", "")

	restore := tightenGC()
	if got := gcPercent(); got != loadGCPercent {
		t.Errorf("during a load: GOGC %d, want %d", got, loadGCPercent)
	}
	restore()
	if got := gcPercent(); got != 100 {
		t.Errorf("after a load: GOGC %d, want 100 back", got)
	}

	t.Setenv("GOGC", "200")
	debug.SetGCPercent(200)
	restore = tightenGC()
	if got := gcPercent(); got != 200 {
		t.Errorf("with GOGC=200 set by the operator: %d during a load", got)
	}
	restore()
	t.Setenv("GOGC", "")
	debug.SetGCPercent(100)

	debug.SetMemoryLimit(300 << 20)
	restore = tightenGC()
	if got := gcPercent(); got != 100 {
		t.Errorf("with a memory limit set: GOGC %d during a load, want 100 untouched", got)
	}
	restore()
}

// TestServeGC: serve sets the collector's target to serveGCPercent when
// the operator set neither GOGC nor a memory limit, and leaves it alone
// when either is set (--memory-limit included).
func TestServeGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Setenv("GOGC", "")

	if err := applyMemoryLimit("", log); err != nil {
		t.Fatal(err)
	}
	if got := gcPercent(); got != serveGCPercent {
		t.Errorf("no GOGC, no limit: GOGC %d while serving, want %d", got, serveGCPercent)
	}
	t.Setenv("GOGC", "200")
	debug.SetGCPercent(200)
	if err := applyMemoryLimit("", log); err != nil {
		t.Fatal(err)
	}
	if got := gcPercent(); got != 200 {
		t.Errorf("GOGC=200 set by the operator: GOGC %d while serving", got)
	}
	t.Setenv("GOGC", "")

	debug.SetGCPercent(100)
	if err := applyMemoryLimit("400MiB", log); err != nil {
		t.Fatal(err)
	}
	if got := gcPercent(); got != 100 {
		t.Errorf("--memory-limit 400MiB: GOGC %d while serving, want 100 untouched", got)
	}
	debug.SetMemoryLimit(math.MaxInt64)

	// --memory-limit off is no limit: the default applies.
	if err := applyMemoryLimit("off", log); err != nil {
		t.Fatal(err)
	}
	if got := gcPercent(); got != serveGCPercent {
		t.Errorf("--memory-limit off: GOGC %d while serving, want %d", got, serveGCPercent)
	}
}
