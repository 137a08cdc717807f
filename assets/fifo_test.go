//go:build unix

package assets

import (
	"net/http"
	"path/filepath"
	"syscall"
	"testing"
)

// A FIFO must answer 404 at once: opening it would block until a writer
// appears.
func TestFIFONotServed(t *testing.T) {
	fx := newFixture(t)
	if err := syscall.Mkfifo(filepath.Join(fx.dir, "pipe"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	srv := serve(t, fx.dir, nil)
	r := rawRequest(t, srv, http.MethodGet, "/assets/pipe", nil)
	if r.StatusCode != http.StatusNotFound || string(r.body) != notFoundBody {
		t.Fatalf("status %d body %q, want 404", r.StatusCode, r.body)
	}
}
