package admin

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/storage/bolt"
)

// TestBackupRoute: GET /api/v1/backup, behind the admin API's
// authentication, streams a bbolt file that opens, checks clean and holds
// every lease; HEAD gives its size; without a backup handler (the etcd
// store) it is 501 naming etcdctl snapshot save.
func TestBackupRoute(t *testing.T) {
	e := newAdminEnv(t, testCatalogDir, NewAuth([]string{goodToken}, false))
	const n = 12
	for i := range n {
		if code, body, _ := e.bootGet(fmt.Sprintf("/ipxe?role=services&mac=52:54:00:0b:00:%02x", i)); code != http.StatusOK {
			t.Fatalf("boot %d: %d %s", i, code, body)
		}
	}
	served := e.table.All() // the n new leases and the catalog's pinned ones
	if len(served) < n {
		t.Fatalf("%d leases served after %d boots", len(served), n)
	}
	if code, _, _ := e.do("GET", "/api/v1/backup", ""); code != http.StatusUnauthorized {
		t.Errorf("backup without a token: %d, want 401", code)
	}
	code, body, hdr := e.do("GET", "/api/v1/backup", "", "Authorization", "Bearer "+goodToken)
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/octet-stream" || hdr.Get("Content-Length") != strconv.Itoa(len(body)) {
		t.Fatalf("backup: %d %v (%d bytes)", code, hdr, len(body))
	}
	file := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := bolt.CheckFile(file)
	if err != nil || len(rep.Problems) > 0 || rep.Leases != len(served) {
		t.Fatalf("the backup: %+v, %v; want %d leases and no problems", rep, err, len(served))
	}
	restored := t.TempDir()
	if err := os.WriteFile(filepath.Join(restored, bolt.FileName), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := bolt.Open(restored)
	if err != nil {
		t.Fatalf("the backup does not open as a store: %v", err)
	}
	defer s.Close()
	got, err := s.Leases(t.Context())
	if err != nil || len(got) != len(served) {
		t.Fatalf("restored store: %d leases, %v; want %d", len(got), err, len(served))
	}
	for _, l := range got {
		if held, ok := e.table.Lookup(l.Pool, l.MAC); !ok || held.Address != l.Address {
			t.Errorf("restored lease %v, served %v", l, held)
		}
	}

	code, body, hdr = e.do("HEAD", "/api/v1/backup", "", "Authorization", "Bearer "+goodToken)
	if code != http.StatusOK || body != "" || hdr.Get("Content-Length") == "" {
		t.Errorf("HEAD: %d %q %v", code, body, hdr)
	}

	a := New(Config{Catalogs: e.cats})
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/backup", nil))
	if rec.Code != http.StatusNotImplemented || !strings.Contains(rec.Body.String(), "etcdctl snapshot save") || !strings.Contains(rec.Body.String(), "docs/backup.md") {
		t.Errorf("without a backup handler: %d %s", rec.Code, rec.Body)
	}
}
