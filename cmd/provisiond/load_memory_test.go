package main

import (
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/catalog"
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

	restore := tightenGC(loadGCPercent)
	if got := gcPercent(); got != loadGCPercent {
		t.Errorf("during a load: GOGC %d, want %d", got, loadGCPercent)
	}
	restore()
	if got := gcPercent(); got != 100 {
		t.Errorf("after a load: GOGC %d, want 100 back", got)
	}

	t.Setenv("GOGC", "200")
	debug.SetGCPercent(200)
	restore = tightenGC(loadGCPercent)
	if got := gcPercent(); got != 200 {
		t.Errorf("with GOGC=200 set by the operator: %d during a load", got)
	}
	restore()
	t.Setenv("GOGC", "")
	debug.SetGCPercent(100)

	debug.SetMemoryLimit(300 << 20)
	restore = tightenGC(loadGCPercent)
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

// TestLoadGCBesideServed: a load with nothing served (a first start)
// runs at loadGCPercent; a load beside the served catalog (SIGHUP here,
// as a restart's load in the background) at overLoadGCPercent; after
// each the serving target is back.
func TestLoadGCBesideServed(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(serveGCPercent))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	t.Setenv("GOGC", "")
	data, dir := t.TempDir(), t.TempDir()
	bgCatalog(t, dir, "A", true)
	b := newBGServer(t, data, dir, false)
	close(b.release)
	var during []int
	read := b.loader.loadDir
	b.loader.loadDir = func(d string) (*catalog.Catalog, error) {
		during = append(during, gcPercent())
		return read(d)
	}
	if _, err := b.loader.initial(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-b.entered
	if got := gcPercent(); got != serveGCPercent {
		t.Errorf("after the first load: GOGC %d, want %d", got, serveGCPercent)
	}
	bgCatalog(t, dir, "B", true)
	b.loader.reload(t.Context())
	<-b.entered
	if got := gcPercent(); got != serveGCPercent {
		t.Errorf("after the reload: GOGC %d, want %d", got, serveGCPercent)
	}
	if want := []int{loadGCPercent, overLoadGCPercent}; !slices.Equal(during, want) {
		t.Errorf("GOGC during the loads %v, want %v", during, want)
	}
	if code, body := b.get(t, "/readyz"); code != 200 || !strings.Contains(body, "serving --catalog "+dir) {
		t.Errorf("/readyz after the reload: %d %q", code, body)
	}
}
