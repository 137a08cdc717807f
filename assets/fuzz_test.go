package assets

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// newRecorder serves GET for a decoded, already prefix-stripped path straight
// to h, bypassing request-line parsing so any string reaches the handler.
func newRecorder(h http.Handler, path string) *httptest.ResponseRecorder {
	req := &http.Request{
		Method:     http.MethodGet,
		URL:        &url.URL{Path: path},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header{},
		Host:       "boot.test",
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// FuzzAssetPath serves arbitrary paths against a root holding one file and a
// symlink leading out to a secret beside the root. It fails on any 5xx, on
// any response carrying the secret, and on a 200 that is not the one file.
func FuzzAssetPath(f *testing.F) {
	fx := newFixture(f)
	for _, tc := range assetCases(fx) {
		target := strings.TrimPrefix(tc.target, "/assets")
		f.Add(target)
		if p, err := url.PathUnescape(target); err == nil {
			f.Add(p)
		}
	}
	h, err := New(fx.dir, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { h.Close() })
	mounted := http.StripPrefix("/assets", h)
	want := map[string]bool{}
	for name, data := range fx.files {
		if !hasHiddenElem(name) {
			want[string(data)] = true
		}
	}

	f.Fuzz(func(t *testing.T, p string) {
		check := func(how string, rec *httptest.ResponseRecorder) {
			body := rec.Body.Bytes()
			switch {
			case bytes.Contains(body, []byte(secretContent)):
				t.Fatalf("%s %q: status %d leaks the secret", how, p, rec.Code)
			case rec.Code >= 500:
				t.Fatalf("%s %q: status %d: %s", how, p, rec.Code, body)
			case rec.Code == http.StatusOK && !want[string(body)]:
				t.Fatalf("%s %q: 200 with unexpected body %q", how, p, trunc(body))
			case rec.Code == http.StatusOK && hasHiddenElem(p):
				t.Fatalf("%s %q: 200 for a hidden path", how, p)
			}
		}
		// The decoded path, as the handler sees it after StripPrefix.
		check("path", newRecorder(h, p))

		// The same string as a raw request-target, decoded by net/url and
		// mounted the way the router does.
		u, err := url.ParseRequestURI("/assets/" + strings.TrimPrefix(p, "/"))
		if err != nil {
			return
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL = u
		req.RequestURI = u.RequestURI()
		rec := httptest.NewRecorder()
		mounted.ServeHTTP(rec, req)
		check("target", rec)
	})
}

// hasHiddenElem reports whether a decoded path names a dot-file, after the
// handler's own rule (an element starting with '.').
func hasHiddenElem(p string) bool {
	for elem := range strings.SplitSeq(p, "/") {
		if strings.HasPrefix(elem, ".") {
			return true
		}
	}
	return false
}
