package main

import (
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
