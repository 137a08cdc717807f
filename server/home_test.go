package server

import (
	"net/http"
	"testing"

	"github.com/provisiond/provisiond/internal/testutil"
)

// TestHome: / answers 200 with a short text, as matchbox does (its
// Kubernetes manifest probes it), with and without a catalog.
func TestHome(t *testing.T) {
	e := newEnv(t, testCatalog)
	if code, body, hdr := e.get("/"); code != http.StatusOK || body != "provisiond\n" || hdr.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("GET /: %d %q %q", code, body, hdr.Get("Content-Type"))
	}
	if code, _, _ := e.get("/nope"); code != http.StatusNotFound {
		t.Errorf("GET /nope: %d, want 404", code)
	}
	bare := New(Config{})
	if code := httpRecorder(bare, "/"); code != http.StatusOK {
		t.Errorf("GET / without a catalog: %d", code)
	}
}

// TestHeadOnBootEndpoints: every boot endpoint answers HEAD as it answers
// GET (status and headers), without a body.
func TestHeadOnBootEndpoints(t *testing.T) {
	e := newEnv(t, testCatalog)
	for _, path := range []string{
		"/", "/boot.ipxe", "/boot.ipxe.0",
		"/ipxe?mac=52:54:00:89:d8:10", "/grub?mac=52:54:00:89:d8:10",
		"/ignition?mac=52:54:00:89:d8:10", "/cloud?mac=52:54:00:00:00:01&role=worker",
		"/generic?mac=52:54:00:89:d8:11", "/metadata?mac=52:54:00:89:d8:10",
		"/assets/flatcar/vmlinuz", "/healthz", "/readyz",
		"/ipxe?mac=not-a-mac", "/assets/missing",
	} {
		t.Run(path, func(t *testing.T) {
			gcode, gbody, ghdr := e.get(path)
			hcode, hbody, hhdr := testutil.Do(t, http.MethodHead, e.http.URL+path, "")
			if hcode != gcode || hbody != "" {
				t.Errorf("HEAD: %d with %d bytes; GET: %d", hcode, len(hbody), gcode)
			}
			if gcode == http.StatusOK && gbody == "" {
				t.Errorf("GET answered an empty body")
			}
			if hhdr.Get("Content-Type") != ghdr.Get("Content-Type") {
				t.Errorf("HEAD Content-Type %q, GET %q", hhdr.Get("Content-Type"), ghdr.Get("Content-Type"))
			}
		})
	}
	// Other methods are still refused.
	if code, _, _ := testutil.Do(t, http.MethodPost, e.http.URL+"/ipxe?mac=52:54:00:89:d8:10", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /ipxe: %d, want 405", code)
	}
}
