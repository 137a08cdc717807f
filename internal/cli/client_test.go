package cli

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestDownload streams over real HTTP on loopback: a whole answer, an
// answer the server cuts short, an error status, and no server at all.
func TestDownload(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-0123456789abcdef" {
			http.Error(w, `{"error":"invalid token"}`, http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/whole":
			w.Write(bytes.Repeat([]byte("x"), 100000))
		case "/cut":
			w.Header().Set("Content-Length", "1000")
			w.Write([]byte("only this"))
			// the handler returns: the server closes the short answer
		}
	}))
	defer srv.Close()
	tokens := t.TempDir() + "/tokens"
	writeTestFile(t, tokens, "tok-0123456789abcdef\n")
	c, err := NewClient(ClientConfig{Server: srv.URL, TokenFile: tokens, Timeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if n, err := c.Download("/whole", &buf); err != nil || n != 100000 || buf.Len() != 100000 {
		t.Errorf("whole: %d %v (%d bytes), despite a 1ms client timeout", n, err, buf.Len())
	}
	if _, err := c.Download("/cut", &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "stopped after 9 bytes") {
		t.Errorf("cut: %v, want an error saying the answer was short", err)
	}
	anon, _ := NewClient(ClientConfig{Server: srv.URL})
	var ae *apiError
	if _, err := anon.Download("/whole", &bytes.Buffer{}); !errors.As(err, &ae) || ae.Status != 401 || ae.errorBody.Error != "invalid token" {
		t.Errorf("without a token: %v", err)
	}
	srv.Close()
	var ue *unreachableError
	if _, err := c.Download("/whole", &bytes.Buffer{}); !errors.As(err, &ue) || !strings.Contains(err.Error(), "is provisiond serve running there?") {
		t.Errorf("no server: %v", err)
	}
}
