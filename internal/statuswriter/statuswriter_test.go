package statuswriter

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStatus: over real HTTP, the status a handler answered is what
// Status says: explicit, implied by a body, implied by nothing, a file
// served through ReadFrom; and the first WriteHeader wins.
func TestStatus(t *testing.T) {
	file := filepath.Join(t.TempDir(), "asset")
	if err := os.WriteFile(file, []byte(strings.Repeat("x", 100000)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    int
		body    int
	}{
		{"explicit", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }, http.StatusTeapot, 0},
		{"first wins", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			w.WriteHeader(http.StatusOK)
		}, http.StatusNotFound, 0},
		{"body only", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }, http.StatusOK, 5},
		{"nothing", func(w http.ResponseWriter, r *http.Request) {}, http.StatusOK, 0},
		{"file", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, file) }, http.StatusOK, 100000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan int, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sw := &Writer{ResponseWriter: w}
				tc.handler(sw, r)
				got <- sw.Status()
			}))
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if st := <-got; st != tc.want || resp.StatusCode != tc.want || len(b) != tc.body {
				t.Errorf("Status %d, answered %d with %d bytes; want %d with %d bytes", st, resp.StatusCode, len(b), tc.want, tc.body)
			}
		})
	}
}
