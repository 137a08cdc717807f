package admin

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/profiles"
)

// TestDanglingFromAnotherWriter: matchbox's gRPC API (here, a direct
// catalog update) may leave a group without its profile and a profile
// without its template. The boot endpoints answer 404 for those machines
// (no fall-through to the default group), select says why, and the REST
// API still accepts unrelated changes while refusing new breakage.
func TestDanglingFromAnotherWriter(t *testing.T) {
	e := newAdminEnv(t, testCatalogDir, nil)
	_, _, err := e.cats.Update(context.Background(), func(c *catalog.Catalog) error {
		c.Groups["tf"] = &groups.Group{ID: "tf", Profile: "tf", Selector: groups.SelectorOf(map[string]string{"mac": "52:54:00:77:00:01"})}
		c.Profiles["tf-ign"] = &profiles.Profile{ID: "tf-ign", IgnitionID: "tf-ign.ign"}
		c.Groups["tf-ign"] = &groups.Group{ID: "tf-ign", Profile: "tf-ign", Selector: groups.SelectorOf(map[string]string{"mac": "52:54:00:77:00:02"})}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	if code, body, _ := e.bootGet("/ipxe?mac=52:54:00:77:00:01"); code != http.StatusNotFound {
		t.Errorf("/ipxe for a group without its profile: %d %q, want 404", code, body)
	}
	if code, body, _ := e.bootGet("/ignition?mac=52:54:00:77:00:02"); code != http.StatusNotFound || !strings.Contains(body, "tf-ign.ign") {
		t.Errorf("/ignition for a profile without its template: %d %q, want 404 naming it", code, body)
	}
	if code, _, _ := e.bootGet("/ipxe?mac=52:54:00:77:00:02"); code != http.StatusOK {
		t.Errorf("/ipxe for a profile without its template: %d, want 200 (only the config is missing)", code)
	}
	code, body, _ := e.do("GET", "/api/v1/select?mac=52:54:00:77:00:01", "")
	if code != http.StatusOK || !strings.Contains(body, "its profile does not exist") || !strings.Contains(body, `\"tf\"`) {
		t.Errorf("select for a group without its profile: %d\n%s", code, body)
	}

	// REST: an unrelated change goes through; a new dangling reference not.
	if code, body, _ := e.do("PUT", "/api/v1/groups/other", `{"profile":"worker","selector":{"role":"other"}}`); code/100 != 2 {
		t.Errorf("unrelated REST put with dangling references elsewhere: %d %s", code, body)
	}
	if code, body, _ := e.do("PUT", "/api/v1/groups/new", `{"profile":"nope","selector":{"role":"new"}}`); code != http.StatusUnprocessableEntity || !strings.Contains(body, "no such profile") {
		t.Errorf("REST put naming a missing profile: %d %s, want 422", code, body)
	}
}
