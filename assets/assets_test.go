package assets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/provisiond/provisiond/internal/testutil"
)

const notFoundBody = "404 page not found\n"

// kernelETag and lastModified are what the server must send for vmlinuz.
var (
	kernelETag   = fmt.Sprintf(`"%x-%x"`, len(kernel), fixedMtime.UnixNano())
	lastModified = fixedMtime.Format(http.TimeFormat)
)

// assetCase is one request and the exact response expected.
type assetCase struct {
	name   string
	method string            // GET when empty
	target string            // the request-target, written verbatim
	header map[string]string // request headers
	status int
	body   string            // exact body; ignored when check is set
	want   map[string]string // exact response headers
	check  func(t *testing.T, r rawResponse)
}

// assetCases returns the table; it needs the fixture for the absolute path of
// the secret file.
func assetCases(fx *fixture) []assetCase {
	notFound := func(name, target string) assetCase {
		return assetCase{name: name, target: target, status: http.StatusNotFound, body: notFoundBody}
	}
	kernelHeaders := map[string]string{
		"Content-Type":   "application/octet-stream",
		"Content-Length": "10000",
		"Accept-Ranges":  "bytes",
		"ETag":           kernelETag,
		"Last-Modified":  lastModified,
	}
	secretURL := (&url.URL{Path: fx.secret}).EscapedPath()
	return []assetCase{
		{name: "plain file", target: "/assets/vmlinuz", status: 200, body: string(kernel), want: kernelHeaders},
		{name: "nested file", target: "/assets/flatcar/stable/config.json", status: 200, body: configJSON,
			want: map[string]string{"Content-Type": "application/json", "Content-Length": fmt.Sprint(len(configJSON))}},
		{name: "HEAD", method: http.MethodHead, target: "/assets/vmlinuz", status: 200, body: "", want: kernelHeaders},
		{name: "single range", target: "/assets/vmlinuz", header: map[string]string{"Range": "bytes=100-199"},
			status: 206, body: string(kernel[100:200]),
			want: map[string]string{"Content-Range": "bytes 100-199/10000", "Content-Length": "100", "Content-Type": "application/octet-stream"}},
		{name: "suffix range", target: "/assets/vmlinuz", header: map[string]string{"Range": "bytes=-10"},
			status: 206, body: string(kernel[9990:]), want: map[string]string{"Content-Range": "bytes 9990-9999/10000"}},
		{name: "multi-range", target: "/assets/vmlinuz", header: map[string]string{"Range": "bytes=0-9,5000-5009"},
			status: 206, check: checkMultipart(
				byteRange{"bytes 0-9/10000", kernel[0:10]},
				byteRange{"bytes 5000-5009/10000", kernel[5000:5010]})},
		{name: "unsatisfiable range", target: "/assets/vmlinuz", header: map[string]string{"Range": "bytes=20000-"},
			status: 416, body: "invalid range: failed to overlap\n", want: map[string]string{"Content-Range": "bytes */10000"}},
		{name: "If-None-Match ETag", target: "/assets/vmlinuz", header: map[string]string{"If-None-Match": kernelETag},
			status: 304, body: "", want: map[string]string{"ETag": kernelETag}},
		{name: "If-None-Match other ETag", target: "/assets/vmlinuz", header: map[string]string{"If-None-Match": `"0-0"`},
			status: 200, body: string(kernel)},
		{name: "If-Modified-Since", target: "/assets/vmlinuz", header: map[string]string{"If-Modified-Since": lastModified},
			status: 304, body: ""},
		{name: "If-Modified-Since earlier", target: "/assets/vmlinuz",
			header: map[string]string{"If-Modified-Since": fixedMtime.Add(-time.Hour).Format(http.TimeFormat)},
			status: 200, body: string(kernel)},
		{name: "If-Range current", target: "/assets/vmlinuz", header: map[string]string{"Range": "bytes=0-3", "If-Range": kernelETag},
			status: 206, body: string(kernel[:4])},
		{name: "If-Range stale", target: "/assets/vmlinuz", header: map[string]string{"Range": "bytes=0-3", "If-Range": `"0-0"`},
			status: 200, body: string(kernel)},
		{name: "symlink inside root", target: "/assets/alias", status: 200, body: string(kernel), want: kernelHeaders},
		{name: "through directory symlink inside root", target: "/assets/channel/config.json", status: 200, body: configJSON},

		notFound("dot-dot", "/assets/../secret.txt"),
		notFound("nested dot-dot", "/assets/flatcar/../../secret.txt"),
		notFound("dot-dot staying inside", "/assets/flatcar/stable/../../vmlinuz"),
		notFound("encoded dot-dot slash", "/assets/%2e%2e%2fsecret.txt"),
		notFound("dot-dot encoded slash", "/assets/..%2fsecret.txt"),
		notFound("encoded dot-dot", "/assets/%2e%2e/secret.txt"),
		notFound("double-encoded dot-dot", "/assets/%252e%252e/secret.txt"),
		notFound("double-encoded dot-dot slash", "/assets/%252e%252e%252fsecret.txt"),
		notFound("backslash", `/assets/..\secret.txt`),
		notFound("nested backslash", `/assets/flatcar\..\..\secret.txt`),
		notFound("encoded backslash", "/assets/..%5csecret.txt"),
		notFound("NUL", "/assets/vmlinuz%00"),
		notFound("NUL extension", "/assets/vmlinuz%00.json"),
		notFound("absolute path", "/assets/"+secretURL),
		notFound("encoded absolute path", "/assets/%2f"+strings.TrimPrefix(secretURL, "/")),
		notFound("absolute etc", "/assets//etc/passwd"),
		notFound("absolute-form target", "http://boot.test/assets/../secret.txt"),
		notFound("symlink out (relative)", "/assets/escape"),
		notFound("symlink out (absolute)", "/assets/escape-abs"),
		notFound("directory symlink out", "/assets/updir/secret.txt"),

		notFound("root", "/assets/"),
		notFound("prefix without slash", "/assets"),
		notFound("directory", "/assets/flatcar"),
		notFound("directory slash", "/assets/flatcar/"),
		notFound("directory symlink", "/assets/channel"),
		notFound("hidden file", "/assets/.hidden"),
		notFound("encoded hidden file", "/assets/%2ehidden"),
		notFound("hidden directory", "/assets/flatcar/.git/config"),
		notFound("missing file", "/assets/nope"),
		notFound("file with trailing slash", "/assets/vmlinuz/"),
		notFound("double slash", "/assets/flatcar//stable/config.json"),
		notFound("outside prefix", "/secret.txt"),

		{name: "POST", method: http.MethodPost, target: "/assets/vmlinuz", status: 405, body: "405 method not allowed\n",
			want: map[string]string{"Allow": "GET, HEAD"}},
		{name: "PUT", method: http.MethodPut, target: "/assets/vmlinuz", status: 405, body: "405 method not allowed\n",
			want: map[string]string{"Allow": "GET, HEAD"}},
	}
}

func TestServeHTTP(t *testing.T) {
	fx := newFixture(t)
	var logs testutil.SyncBuffer
	srv := serve(t, fx.dir, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	for _, tc := range assetCases(fx) {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			r := rawRequest(t, srv, method, tc.target, tc.header)
			if bytes.Contains(r.raw, []byte(secretContent)) {
				t.Fatalf("response leaks the secret:\n%s", r.raw)
			}
			if r.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d; body %q", r.StatusCode, tc.status, r.body)
			}
			for k, v := range tc.want {
				if got := r.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if tc.check != nil {
				tc.check(t, r)
				return
			}
			if string(r.body) != tc.body {
				t.Errorf("body = %q (%d bytes), want %q (%d bytes)", trunc(r.body), len(r.body), trunc([]byte(tc.body)), len(tc.body))
			}
		})
	}

	// A client's bad path is never the operator's problem.
	for line := range strings.Lines(logs.String()) {
		var rec struct{ Level, Msg, Path string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec.Level != "DEBUG" {
			t.Errorf("logged above Debug: %s", line)
		}
		if path.Clean(rec.Path) != rec.Path {
			t.Errorf("logged path is not cleaned: %s", line)
		}
	}
	if !strings.Contains(logs.String(), `"path":"/secret.txt"`) {
		t.Errorf("traversal to /secret.txt not logged with its cleaned path; logs:\n%s", logs.String())
	}
}

func trunc(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// byteRange is one expected part of a multipart/byteranges response.
type byteRange struct {
	contentRange string
	data         []byte
}

func checkMultipart(want ...byteRange) func(*testing.T, rawResponse) {
	return func(t *testing.T, r rawResponse) {
		mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mediaType != "multipart/byteranges" {
			t.Fatalf("Content-Type = %q (%v), want multipart/byteranges", r.Header.Get("Content-Type"), err)
		}
		mr := multipart.NewReader(bytes.NewReader(r.body), params["boundary"])
		for i, w := range want {
			p, err := mr.NextPart()
			if err != nil {
				t.Fatalf("part %d: %v", i, err)
			}
			if got := p.Header.Get("Content-Range"); got != w.contentRange {
				t.Errorf("part %d Content-Range = %q, want %q", i, got, w.contentRange)
			}
			if got := p.Header.Get("Content-Type"); got != "application/octet-stream" {
				t.Errorf("part %d Content-Type = %q", i, got)
			}
			data, err := io.ReadAll(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(data, w.data) {
				t.Errorf("part %d = %x, want %x", i, data, w.data)
			}
		}
		if _, err := mr.NextPart(); err != io.EOF {
			t.Errorf("after %d parts: %v, want io.EOF", len(want), err)
		}
	}
}

func TestETagStableAndChanging(t *testing.T) {
	fx := newFixture(t)
	srv := serve(t, fx.dir, nil)
	first := rawRequest(t, srv, "GET", "/assets/vmlinuz", nil).Header.Get("ETag")
	second := rawRequest(t, srv, "HEAD", "/assets/vmlinuz", nil).Header.Get("ETag")
	if first != kernelETag || second != first {
		t.Fatalf("ETags %q then %q, want %q twice", first, second, kernelETag)
	}
	later := fixedMtime.Add(time.Second)
	if err := os.Chtimes(filepath.Join(fx.dir, "vmlinuz"), later, later); err != nil {
		t.Fatal(err)
	}
	r := rawRequest(t, srv, "GET", "/assets/vmlinuz", map[string]string{"If-None-Match": first})
	if r.StatusCode != 200 || r.Header.Get("ETag") == first {
		t.Fatalf("after touching: status %d ETag %q, want 200 and a new ETag", r.StatusCode, r.Header.Get("ETag"))
	}
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	write(t, file, []byte("x"))
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name    string
		root    string
		wantErr error
	}{
		{name: "directory", root: dir},
		{name: "missing", root: missing, wantErr: fs.ErrNotExist},
		{name: "file", root: file, wantErr: ErrNotDirectory},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := New(tc.root, nil)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if err := h.Close(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.root) {
				t.Errorf("error %q does not name %q", err, tc.root)
			}
		})
	}
}

func TestServeAfterClose(t *testing.T) {
	fx := newFixture(t)
	h, err := New(fx.dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(h, "/vmlinuz")
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", rec.Code)
	}
}
