package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
)

// loadGCPercent is the garbage collector's target (GOGC) while a catalog
// directory loads, when the operator set neither GOGC nor a memory limit
// (--memory-limit, GOMEMLIMIT). The load only grows its live data, so
// under the default 100 the heap reaches twice the live data at its
// peak, the bbolt write: at 100,000 machines 50 brings the peak of a
// first start from 300-307 to 268-270 MiB for 0.1 s more CPU (about 6 %;
// docs/performance.md, "Start-up, fourth pass").
//
// The store's inventory, read at start before the catalog
// (inventory.NewRecorderFrom), is not tightened: at 100,000 booted
// machines 50 during that read lowered the start's peak by about 8 MiB
// (3 %) for about 0.1 s more CPU (8 %), and 200 to 400 saved no CPU
// that the machine's noise did not hide (docs/performance.md,
// "Start-up, ninth pass").
const loadGCPercent = 50

// serveGCPercent is the garbage collector's target (GOGC) while serving,
// when the operator set neither GOGC nor a memory limit: Go's default.
// Almost all of a serving heap is the catalog, so GOGC's headroom (the
// heap grows to 1 + GOGC/100 times what the last collection kept) is
// resident memory beside it, and a lower target trades latency for
// memory. Measured together at 100,000 machines (docs/performance.md,
// "Where it stands: the fifth passes merged"): at 100 the run's servers
// peaked at 313-361 MiB with every p99 at 0.65-1.27 ms; at 50 at 282-308
// MiB, but p99 reached 2.04-2.31 ms, requests a second fell about 10 %,
// and the collector's share doubled; a memory limit of 260 MiB
// (--memory-limit 260MiB) kept every peak at 263-287 MiB with p99 at
// 0.85-1.81 ms. So the default keeps the latency, and the operator who
// has a memory budget says so with --memory-limit.
const serveGCPercent = 100

// operatorTunedGC says whether the operator set the collector: GOGC, or
// a memory limit (--memory-limit, GOMEMLIMIT). Then neither
// serveGCPercent nor loadGCPercent is applied.
func operatorTunedGC() bool {
	return os.Getenv("GOGC") != "" || debug.SetMemoryLimit(-1) != math.MaxInt64
}

// tuneServeGC sets serveGCPercent, unless the operator tuned the
// collector (operatorTunedGC).
func tuneServeGC() {
	if !operatorTunedGC() {
		debug.SetGCPercent(serveGCPercent)
	}
}

// overLoadGCPercent is the collector's target while a catalog loads
// beside the one being served (a restart's --catalog loading in the
// background, SIGHUP, when the operator set neither GOGC nor a memory
// limit): the served catalog is most of the live heap and stays, so
// the load's headroom at loadGCPercent is half the served catalog again
// on top of both. At 100,000 machines the restart with --catalog peaked
// at 289 MiB with 50 (docs/performance.md, "Peak memory, fifth pass").
// Only these loads: the first one, with nothing served, blocks the
// start, which the lower target would slow.
const overLoadGCPercent = 25

// tightenGC sets the collector's target to percent for the load that
// follows, unless the operator tuned the collector, and returns what
// puts the previous one back.
func tightenGC(percent int) (restore func()) {
	if operatorTunedGC() {
		return func() {}
	}
	prev := debug.SetGCPercent(percent)
	return func() { debug.SetGCPercent(prev) }
}

// returnLoadMemory returns a catalog load's garbage to the OS: after a
// load at start, once the boot listener is up (daemon.go), and after a
// load in the background (catalogLoader.loadInBackground). Two
// collections, not one: a bbolt write keeps the page buffers of its
// commit (one 4 KiB buffer per page written: 57 MB for a new catalog of
// 100,000 groups) in a sync.Pool, which lets them go only at the second
// collection after it; the second is the one that returns memory
// (debug.FreeOSMemory). Each is a full collection of the served catalog,
// 0.05-0.1 s of CPU at 100,000 machines.
func returnLoadMemory() {
	runtime.GC()
	debug.FreeOSMemory()
}
