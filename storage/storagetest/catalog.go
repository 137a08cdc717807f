package storagetest

import (
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/profiles"
)

func testCatalogEmpty(t *testing.T, h *harness) {
	c := h.loadCatalog()
	if c == nil {
		t.Fatal("LoadCatalog on a fresh store returned nil, want an empty catalog")
	}
	checkCatalog(t, c, catalog.New())
	for _, kind := range profiles.Kinds {
		if c.Templates[kind] == nil {
			t.Errorf("Templates[%s] is nil; callers write into it as into catalog.New()'s", kind)
		}
	}
}

func testCatalogRoundTrip(t *testing.T, h *harness) {
	want := fullCatalog(t)
	h.replace(want)
	checkCatalog(t, h.loadCatalog(), want)
	// Loading twice gives the same, and the loaded catalog is the
	// caller's to change.
	c := h.loadCatalog()
	c.Templates[profiles.KindGeneric]["worker.env"] = "changed"
	delete(c.Profiles, "raw")
	checkCatalog(t, h.loadCatalog(), want)
}

func testCatalogReplaceRemoves(t *testing.T, h *harness) {
	h.replace(fullCatalog(t))
	want := smallCatalog(t)
	h.replace(want)
	checkCatalog(t, h.loadCatalog(), want)
	// And back to empty.
	h.replace(catalog.New())
	checkCatalog(t, h.loadCatalog(), catalog.New())
}
