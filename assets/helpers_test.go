package assets

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// secretContent is the content of a file placed next to (outside) every test
// root; it must never appear in a response.
const secretContent = "SECRET-outside-the-assets-root-7f3c9a"

// fixedMtime is the modification time given to test files, so that
// Last-Modified and ETag are known.
var fixedMtime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// fixture is a temporary assets tree with a secret file beside it.
type fixture struct {
	dir    string // the assets root
	secret string // absolute path of the secret file outside the root
	files  map[string][]byte
}

// kernel and configJSON are the contents of the two visible test files.
var kernel = kernelBytes(10000)

const configJSON = `{"ignition":{"version":"3.4.0"}}` + "\n"

// kernelBytes returns n bytes of deterministic, binary-looking content.
func kernelBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// newFixture lays out:
//
//	<tmp>/secret.txt                      the secret, outside the root
//	<tmp>/assets/vmlinuz                  10000 binary bytes, no extension
//	<tmp>/assets/flatcar/stable/config.json
//	<tmp>/assets/.hidden, flatcar/.git/config
//	<tmp>/assets/escape     -> ../secret.txt       (relative, leaves the root)
//	<tmp>/assets/escape-abs -> <tmp>/secret.txt    (absolute, leaves the root)
//	<tmp>/assets/updir      -> ..                  (directory outside)
//	<tmp>/assets/alias      -> vmlinuz             (stays inside)
//	<tmp>/assets/channel    -> flatcar/stable      (directory inside)
func newFixture(t testing.TB) *fixture {
	t.Helper()
	tmp := t.TempDir()
	fx := &fixture{
		dir:    filepath.Join(tmp, "assets"),
		secret: filepath.Join(tmp, "secret.txt"),
		files: map[string][]byte{
			"vmlinuz":                    kernelBytes(10000),
			"flatcar/stable/config.json": []byte(configJSON),
			".hidden":                    []byte("hidden\n"),
			"flatcar/.git/config":        []byte("[core]\n"),
		},
	}
	write(t, fx.secret, []byte(secretContent))
	for name, data := range fx.files {
		write(t, filepath.Join(fx.dir, filepath.FromSlash(name)), data)
	}
	links := map[string]string{
		"escape":     "../secret.txt",
		"escape-abs": fx.secret,
		"updir":      "..",
		"alias":      "vmlinuz",
		"channel":    "flatcar/stable",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(fx.dir, name)); err != nil {
			t.Skipf("symlinks unavailable: %v", err)
		}
	}
	return fx
}

func write(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fixedMtime, fixedMtime); err != nil {
		t.Fatal(err)
	}
}

// serve starts a loopback server mounting the handler the way the router
// does: http.StripPrefix("/assets", h), with no ServeMux in front that would
// clean paths, so traversal attempts reach the handler as sent.
// A nil logger discards.
func serve(t testing.TB, dir string, logger *slog.Logger) *httptest.Server {
	t.Helper()
	h, err := New(dir, logger)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.StripPrefix("/assets", h))
	t.Cleanup(func() {
		srv.Close()
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv
}

// rawResponse is one response read off the wire.
type rawResponse struct {
	*http.Response
	body []byte // the decoded body
	raw  []byte // every byte the server sent, headers included
}

// rawRequest writes the request line "<method> <target> HTTP/1.1" verbatim
// on a new connection, so no client-side cleaning or escaping applies, and
// reads the whole response until the server closes the connection.
func rawRequest(t testing.TB, srv *httptest.Server, method, target string, header map[string]string) rawResponse {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var req strings.Builder
	req.WriteString(method + " " + target + " HTTP/1.1\r\nHost: boot.test\r\nConnection: close\r\n")
	for k, v := range header {
		req.WriteString(k + ": " + v + "\r\n")
	}
	if method == http.MethodPost {
		req.WriteString("Content-Length: 0\r\n")
	}
	req.WriteString("\r\n")
	if _, err := io.WriteString(conn, req.String()); err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(bytes.NewReader(raw))
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading response to %s %q: %v\n%s", method, target, err, raw)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if rest, _ := io.ReadAll(br); len(rest) > 0 {
		t.Errorf("%s %q: %d bytes after the response: %q", method, target, len(rest), rest)
	}
	return rawResponse{Response: resp, body: body, raw: raw}
}
