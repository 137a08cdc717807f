package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestPutCatalogAllowRelease: a whole-catalog PUT that drops registered
// machines (releasing their leases) or every group is refused with 409,
// listing what it would release and naming allow_release=true, and
// nothing changes; with ?allow_release=true it goes through.
func TestPutCatalogAllowRelease(t *testing.T) {
	e := newAdminEnv(t, testCatalogDir, nil)
	code, body, _ := e.do("GET", "/api/v1/catalog", "")
	if code != http.StatusOK {
		t.Fatalf("GET catalog: %d %s", code, body)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	held, ok := e.table.Lookup("services", "52:54:00:89:d8:10")
	if !ok {
		t.Fatal("node1 holds no services lease")
	}
	delete(doc, "machines")
	without, _ := json.Marshal(doc)

	// A dry run says what the write would.
	code, body, _ = e.do("PUT", "/api/v1/catalog?dry_run=true", string(without))
	if code != http.StatusConflict || !strings.Contains(body, "node1 services/") || !strings.Contains(body, "allow_release=true") {
		t.Errorf("dry-run PUT without the machines: %d %s, want 409", code, body)
	}
	if code, body, _ := e.do("PUT", "/api/v1/catalog?dry_run=true&allow_release=true", string(without)); code != http.StatusOK || !strings.Contains(body, `"dry_run": true`) {
		t.Errorf("dry-run PUT with allow_release=true: %d %s", code, body)
	}

	code, body, _ = e.do("PUT", "/api/v1/catalog", string(without))
	if code != http.StatusConflict {
		t.Fatalf("PUT without the machines: %d %s, want 409", code, body)
	}
	for _, w := range []string{"node1 services/" + held.Address.String() + " (52:54:00:89:d8:10 pinned)", "allow_release=true"} {
		if !strings.Contains(body, w) {
			t.Errorf("refusal lacks %q:\n%s", w, body)
		}
	}
	if l, ok := e.table.Lookup("services", "52:54:00:89:d8:10"); !ok || l != held {
		t.Errorf("after the refusal node1 holds %v, %v; want %v", l, ok, held)
	}
	if code, body, _ := e.do("GET", "/api/v1/machines/node1", ""); code != http.StatusOK {
		t.Errorf("node1 after the refusal: %d %s", code, body)
	}

	code, body, _ = e.do("PUT", "/api/v1/catalog", `{}`)
	if code != http.StatusConflict || !strings.Contains(body, "no groups") || !strings.Contains(body, "allow_release=true") {
		t.Errorf("PUT of an empty catalog: %d %s, want 409 naming allow_release=true", code, body)
	}

	code, body, _ = e.do("PUT", "/api/v1/catalog?allow_release=true", string(without))
	if code != http.StatusOK {
		t.Fatalf("PUT with allow_release=true: %d %s", code, body)
	}
	if l, ok := e.table.Lookup("services", "52:54:00:89:d8:10"); ok {
		t.Errorf("node1 still holds %v after an allowed release", l)
	}
}

// TestRenderNotRegistered: a render for an unregistered machine claiming
// a group whose pool is limited to registered machines answers 403
// naming the group and pool, as the boot endpoint does; nothing is
// leased.
func TestRenderNotRegistered(t *testing.T) {
	e := newAdminEnv(t, testCatalogDir, nil)
	pool := `{"name": "services", "cidr": "10.0.0.0/24", "start": "10.0.0.101", "end": "10.0.0.120", "gateway": "10.0.0.1", "registered_only": true}`
	if code, body, _ := e.do("PUT", "/api/v1/pools/services", pool); code/100 != 2 {
		t.Fatalf("PUT pool: %d %s", code, body)
	}
	const stranger = "52:54:00:66:00:01"
	code, body, _ := e.do("GET", "/api/v1/render/ipxe?role=services&mac="+stranger, "")
	if code != http.StatusForbidden || !strings.Contains(body, "limited to registered machines") || !strings.Contains(body, `pool \"services\"`) {
		t.Errorf("render for an unregistered machine: %d %s, want 403", code, body)
	}
	if code, body, _ := e.bootGet("/ipxe?role=services&mac=" + stranger); code != http.StatusForbidden || !strings.Contains(body, "limited to registered machines") {
		t.Errorf("boot for an unregistered machine: %d %s, want 403", code, body)
	}
	if l, ok := e.table.Lookup("services", stranger); ok {
		t.Errorf("the unregistered machine got %v", l)
	}
	if code, body, _ := e.do("GET", "/api/v1/render/ipxe?mac=52:54:00:89:d8:10", ""); code != http.StatusOK {
		t.Errorf("render for registered node1: %d %s", code, body)
	}
}
