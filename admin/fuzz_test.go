package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzAdminWrite sends arbitrary bodies to every kind of write: whatever
// the body, the answer is never a 500, and errors are JSON.
func FuzzAdminWrite(f *testing.F) {
	for _, s := range []string{
		`{"profile":"worker","selector":{"role":"web"}}`,
		`{"boot":{"kernel":"/k","args":["{{ .x }}"]},"ignition_id":"worker.yaml"}`,
		`{"cidr":"10.9.0.0/24","start":"10.9.0.10","end":"10.9.0.20","reserved":["10.9.0.11"]}`,
		`{"mac":"52:54:00:89:d8:13","labels":{"role":"services"},"leases":{"services":"10.0.0.115"}}`,
		`{"profiles":[{"id":"p","boot":{}}],"groups":[{"id":"g","profile":"p","selector":{"k":"v"}}]}`,
		"variant: flatcar\nversion: 1.0.0\n",
		`null`, `[]`, `{"selector":{"a":1}}`, "{{ .x ", "",
	} {
		f.Add(s)
	}
	e := newAdminEnv(f, testCatalogDir, nil)
	paths := []string{"/api/v1/groups/fz", "/api/v1/profiles/fz", "/api/v1/pools/fz", "/api/v1/machines/fz", "/api/v1/templates/ignition/fz.yaml", "/api/v1/catalog"}
	f.Fuzz(func(t *testing.T, body string) {
		for _, p := range paths {
			method := http.MethodPut
			if p == "/api/v1/catalog" {
				method = http.MethodPost
			}
			rec := httptest.NewRecorder()
			e.adm.ServeHTTP(rec, httptest.NewRequest(method, p, strings.NewReader(body)))
			if rec.Code >= 500 {
				t.Fatalf("%s %s %q: %d %s", method, p, body, rec.Code, rec.Body)
			}
			if rec.Code >= 400 {
				var eb ErrorBody
				if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error == "" {
					t.Fatalf("%s %s %q: error not JSON: %s", method, p, body, rec.Body)
				}
			}
		}
	})
}
