package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawGet sends target as is (no client-side cleaning or escaping) and
// returns the status and body; status 0 when the server closed the
// connection without an answer (a refusal too: it read no request).
func rawGet(t *testing.T, addr, target string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	go conn.Write([]byte("GET " + target + " HTTP/1.1\r\nHost: provisiond.test\r\nConnection: close\r\n\r\n"))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestHostileRequests sends what a hostile or broken client might, to both
// listeners of a real provisiond: each gets a 4xx (or, for requests the
// HTTP server cannot even read, a closed connection), none leaks a file
// or changes the catalog, and a normal boot works afterwards.
func TestHostileRequests(t *testing.T) {
	// The render limit is generous (the default): the example catalog's
	// own Butane translations must fit in it with both cores busy (50ms
	// did not); the hostile renders below are over any limit.
	p := start(t, nil, "--data-dir", t.TempDir(), "--catalog", copyDir(t, testCatalog),
		"--max-output-bytes", "100000", "--render-timeout", "2s", "--admin-max-body-bytes", "1048576")
	boot := []struct{ name, target string }{
		{"dot-dot", "/assets/../../../../etc/passwd"},
		{"dot-dot below a directory", "/assets/flatcar/../../../etc/passwd"},
		{"escaped dots", "/assets/%2e%2e/%2e%2e/%2e%2e/etc/passwd"},
		{"escaped dots and slashes", "/assets/%2E%2E%2F%2E%2E%2F%2E%2E%2Fetc%2Fpasswd"},
		{"escaped slashes", "/assets/..%2f..%2f..%2fetc%2fpasswd"},
		{"double escaped", "/assets/%252e%252e%252f%252e%252e%252fetc%252fpasswd"},
		{"backslashes", "/assets/..%5c..%5c..%5cetc%5cpasswd"},
		{"overlong UTF-8 dots", "/assets/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd"},
		{"half-escaped dots", "/assets/.%2e/.%2e/.%2e/etc/passwd"},
		{"absolute after the prefix", "/assets//etc/passwd"},
		{"NUL in an asset name", "/assets/vmlinuz%00.txt"},
		{"NUL in a directory", "/assets/flatcar%00/x"},
		{"hidden file", "/assets/.hidden"},
		{"NUL in the mac", "/ipxe?mac=52:54:00:89:d8:10%00"},
		{"NUL in a label", "/ipxe?mac=52:54:00:00:00:01&role=work%00er"},
		{"NUL in a uuid", "/ignition?uuid=%00"},
		{"invalid UTF-8 in a label", "/ipxe?mac=52:54:00:00:00:01&role=%ff%fe"},
		{"invalid UTF-8 in a key", "/ipxe?mac=52:54:00:00:00:01&%ff=x"},
		{"path in the mac", "/ipxe?mac=../../etc/passwd"},
		{"1 MB query string", "/ipxe?mac=52:54:00:00:00:01&x=" + strings.Repeat("a", 1<<20)},
		{"10,000 labels", "/ipxe?mac=52:54:00:00:00:01" + strings.Repeat("&k=v", 10000)},
		{"5,000 distinct labels", "/ipxe?mac=52:54:00:00:00:01" + distinctLabels(5000)},
		{"long label value", "/ipxe?mac=52:54:00:00:00:01&role=" + strings.Repeat("w", 3000)},
		{"control character in the path", "/ipxe\x01?mac=52:54:00:00:00:01"},
	}
	for _, tc := range boot {
		t.Run("boot/"+tc.name, func(t *testing.T) {
			code, body := rawGet(t, p.boot, tc.target)
			t.Logf("%.60s: %d %.80s", tc.target, code, strings.TrimSpace(body))
			if code != 0 && (code < 400 || code > 499) {
				t.Errorf("%.100s: %d %.200s, want a 4xx", tc.target, code, body)
			}
			if strings.Contains(body, "root:") {
				t.Errorf("%.100s leaked /etc/passwd", tc.target)
			}
		})
	}

	admin := "http://" + p.admin + "/api/v1"
	var butane strings.Builder
	butane.WriteString("variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n")
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&butane, "    - path: /f%d\n      contents: {inline: x}\n", i)
	}
	api := []struct {
		name, path, body string
	}{
		{"deeply nested JSON", "/groups/deep", `{"id":"deep","profile":"worker","selector":{"role":"deep"},"metadata":{"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}}`},
		{"invalid UTF-8 in JSON", "/groups/bad", "{\"id\":\"bad\xff\",\"profile\":\"worker\",\"selector\":{\"role\":\"x\xfe\"}}"},
		{"invalid UTF-8 in a template", "/templates/generic/bad.txt", "hello \xff\xfe"},
		{"NUL in a template name", "/templates/generic/a%00b", "hello"},
		{"traversal in a template name", "/templates/generic/..%2f..%2fetc%2fpasswd", "hello"},
		{"body over the limit", "/templates/generic/huge.txt", strings.Repeat("x", 2<<20)},
		{"huge Butane (its translation over the time or size limit)", "/templates/ignition/worker.yaml", butane.String()},
		{"huge range", "/templates/generic/preseed.cfg", "{{range 100000000000}}{{end}}"},
		{"recursive template", "/templates/generic/preseed.cfg", `{{define "a"}}{{template "a"}}{{end}}{{template "a"}}`},
		{"output without bound", "/templates/generic/preseed.cfg", "{{range 1000}}{{range 1000}}xxxxxxxxxx{{end}}{{end}}"},
		// A billion lookups, over any time limit on any machine (a range
		// over a variable is bounded by the time limit only, not when the
		// template is written). The dot written after each million lets
		// the abandoned render stop soon after it is given up.
		{"render without end", "/templates/generic/preseed.cfg", `{{$n := 1000}}{{range $n}}{{range $n}}{{range $n}}{{if members "role=services"}}{{end}}{{end}}{{end}}.{{end}}`},
		{"huge boot arg", "/profiles/install", `{"id":"install","boot":{"kernel":"/k","args":["{{range 1000}}{{range 1000}}xxxxxxxxxx{{end}}{{end}}"]},"generic_id":"preseed.cfg"}`},
	}
	for _, tc := range api {
		t.Run("admin/"+tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPut, admin+tc.path, bytes.NewReader([]byte(tc.body)))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode > 499 {
				t.Errorf("PUT %s: %d %.300s, want a 4xx", tc.path, resp.StatusCode, b)
			}
			t.Logf("PUT %s: %d %.200s", tc.path, resp.StatusCode, strings.Join(strings.Fields(string(b)), " "))
		})
	}

	// Nothing was let in, and the server still boots machines.
	if code, body := get(t, admin+"/groups/deep"); code != 404 {
		t.Errorf("the nested group was stored: %d %s", code, body)
	}
	if code, body := get(t, "http://"+p.boot+"/ipxe?mac=52:54:00:89:d8:10"); code != 200 || !strings.Contains(body, "kernel") {
		t.Errorf("boot after the abuse: %d %s", code, body)
	}
	if code, body := get(t, "http://"+p.boot+"/ignition?mac=52:54:00:00:00:01&role=worker"); code != 200 {
		t.Errorf("ignition after the abuse: %d %s", code, body)
	}
	if code, body := get(t, "http://"+p.boot+"/generic?mac=52:54:00:00:00:99"); code != 200 {
		t.Errorf("the default group's template after the abuse: %d %s", code, body)
	}
	p.stop(t)
}

func distinctLabels(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "&k%d=v", i)
	}
	return b.String()
}
