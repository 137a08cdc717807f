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
