package admin

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

// TestAPIDocsCoverEveryRoute fails when a route of the admin router is
// missing from docs/api.md, where each is a heading "`METHOD /path`".
func TestAPIDocsCoverEveryRoute(t *testing.T) {
	doc, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	a := New(Config{})
	n := 0
	err = chi.Walk(a.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		n++
		entry := "`" + method + " " + strings.TrimSuffix(route, "/") + "`"
		if !strings.Contains(string(doc), entry) {
			t.Errorf("docs/api.md does not document %s", entry)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 25 {
		t.Errorf("walked %d routes only", n)
	}
}
