package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unsafe"

	ignition "github.com/coreos/ignition/v2/config"

	"github.com/provisiond/provisiond/internal/golden"
	"github.com/provisiond/provisiond/inventory"
)

const testCatalog = "../testdata/catalog"

// The registered services node, in matchbox's three mac forms.
var node1MACs = []string{"52:54:00:89:d8:10", "52-54-00-89-D8-10", "5254.0089.d810"}

func TestChain(t *testing.T) {
	e := newEnv(t, testCatalog)
	want := "#!ipxe\nchain ipxe?uuid=${uuid}&mac=${mac:hexhyp}&domain=${domain}&hostname=${hostname}&serial=${serial}&arch=${buildarch:uristring}\n"
	for _, p := range []string{"/boot.ipxe", "/boot.ipxe.0"} {
		code, body, _ := e.get(p)
		if code != 200 || body != want {
			t.Errorf("%s: %d %q", p, code, body)
		}
	}
}

// TestEndpointsGolden fetches every endpoint for each kind of machine and
// compares the whole answer with a golden file (the test server's random
// host:port is replaced by SERVER).
func TestEndpointsGolden(t *testing.T) {
	e := newEnv(t, testCatalog)
	tests := []struct {
		name, path string
		accept     string
	}{
		{"services-ipxe", "/ipxe?mac=52-54-00-89-d8-10&uuid=&domain=&hostname=&serial=&arch=x86_64", ""},
		{"services-grub", "/grub?mac=52:54:00:89:d8:10", ""},
		{"services-ignition", "/ignition?mac=52-54-00-89-d8-10", ""},
		{"services-generic", "/generic?mac=52:54:00:89:d8:11", ""},
		{"services-metadata", "/metadata?mac=52-54-00-89-d8-10", ""},
		{"services-metadata-json", "/metadata?mac=52-54-00-89-d8-10", "application/json"},
		{"worker-ipxe", "/ipxe?mac=52:54:00:00:00:01&role=worker", ""},
		{"worker-ignition", "/ignition?mac=52:54:00:00:00:01&role=worker", ""},
		{"worker-two-ignition", "/ignition?mac=52:54:00:00:00:02&role=worker&cabinet=two", ""},
		{"worker-cloud", "/cloud?mac=52:54:00:00:00:01&role=worker", ""},
		{"raw-ignition", "/ignition?mac=52:54:00:aa:bb:cc", ""},
		{"default-ipxe", "/ipxe?mac=52:54:00:00:00:99", ""},
		{"default-generic", "/generic?mac=52:54:00:00:00:99&hostname=box9", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.accept != "" {
				hdr = []string{"Accept", tc.accept}
			}
			code, body, _ := e.get(tc.path, hdr...)
			if code != http.StatusOK {
				t.Fatalf("%s: %d %s", tc.path, code, body)
			}
			body = strings.ReplaceAll(body, e.host(), "SERVER")
			golden.Assert(t, "testdata/golden/"+tc.name, []byte(body))
		})
	}
}

func TestMACFormsMatchTheSameMachine(t *testing.T) {
	e := newEnv(t, testCatalog)
	var first string
	for _, mac := range node1MACs {
		code, body, _ := e.get("/ipxe?mac=" + mac)
		if code != 200 || !strings.Contains(body, "ip=10.0.0.101::10.0.0.1:255.255.255.0:node1:eth0:off") {
			t.Fatalf("mac %s: %d %s", mac, code, body)
		}
		if first == "" {
			first = body
		} else if body != first {
			t.Errorf("mac %s answered differently:\n%s\nvs\n%s", mac, body, first)
		}
	}
}

func TestIgnitionIsValidAndCarriesTheCluster(t *testing.T) {
	e := newEnv(t, testCatalog)
	for _, mac := range []string{"52:54:00:89:d8:10", "52:54:00:89:d8:11", "52:54:00:89:d8:12"} {
		code, body, hdr := e.get("/ignition?mac=" + mac)
		if code != 200 || hdr.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s %s", mac, code, hdr.Get("Content-Type"), body)
		}
		if _, rep, err := ignition.Parse([]byte(body)); err != nil {
			t.Fatalf("%s: invalid ignition: %v %s", mac, err, rep)
		}
		want := "--initial-cluster=node1=http://10.0.0.101:2380,node2=http://10.0.0.102:2380,node3=http://10.0.0.103:2380"
		if !strings.Contains(body, want) {
			t.Errorf("%s: ignition lacks %q:\n%s", mac, want, body)
		}
	}
}

func TestRegisteredLabelsWinOverQuery(t *testing.T) {
	e := newEnv(t, testCatalog)
	// node1 claims to be a worker: its registered role=services wins.
	code, body, _ := e.get("/ipxe?mac=52:54:00:89:d8:10&role=worker")
	if code != 200 || !strings.Contains(body, "initrd --name main /assets/flatcar/initrd.cpio.gz") {
		t.Fatalf("%d %s", code, body)
	}
	// A uuid alone finds the registered machine too.
	code, body, _ = e.get("/ipxe?uuid=11111111-2222-3333-4444-555555555555")
	if code != 200 || !strings.Contains(body, "node1") {
		t.Fatalf("by uuid: %d %s", code, body)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, testCatalog)
	tests := []struct {
		path string
		code int
		want string
	}{
		{"/ipxe?mac=52:54:00:89:d8", 400, "invalid mac"},
		{"/ignition?mac=zz:zz:zz:zz:zz:zz", 400, "invalid mac"},
		{"/metadata?mac=not-a-mac&role=worker", 400, "invalid mac"},
		{"/ipxe?mac=52:54:00:89:d8:10&uuid=1234", 400, "invalid uuid"},
		{"/ignition?mac=52:54:00:00:00:99", 404, "no ignition template"},
		{"/cloud?mac=52:54:00:89:d8:10", 404, "no cloud template"},
		{"/ipxe?" + strings.Repeat("a=b&", 2000), 414, "query string"},
		{"/ipxe?" + manyLabels(100), 400, "query parameters"},
	}
	for _, tc := range tests {
		t.Run(tc.path[:min(len(tc.path), 40)], func(t *testing.T) {
			code, body, hdr := e.get(tc.path)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Errorf("%s: %d %q, want %d containing %q", tc.path, code, body, tc.code, tc.want)
			}
			if !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
				t.Errorf("content type %q", hdr.Get("Content-Type"))
			}
		})
	}
}

func manyLabels(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString("k")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteByte(byte('a' + i%26))
		b.WriteString(string(rune('a' + i/26)))
		b.WriteString("=v")
	}
	return b.String()
}

func TestNoMatchIs404NotDefault(t *testing.T) {
	dir := writeCatalog(t, map[string]string{
		"profiles/p.json": `{"id":"p","boot":{"kernel":"/k"}}`,
		"groups/g.json":   `{"id":"g","profile":"p","selector":{"role":"x"}}`,
	})
	e := newEnv(t, dir)
	code, body, _ := e.get("/ipxe?mac=52:54:00:00:00:01")
	if code != 404 || body != "no matching group\n" {
		t.Fatalf("%d %q", code, body)
	}
}

func TestRenderErrorIs500WithCauseLogged(t *testing.T) {
	dir := writeCatalog(t, map[string]string{
		"profiles/p.json": `{"id":"p","boot":{"kernel":"/k"},"generic_id":"g.txt","ignition_id":"i.yaml"}`,
		"groups/grp.json": `{"id":"grp","profile":"p"}`,
		"generic/g.txt":   `needs {{ .request.query.token }}`,
		"ignition/i.yaml": "variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n    - path: {{ .request.query.path }}\n",
	})
	e := newEnv(t, dir)
	code, body, _ := e.get("/generic?mac=52:54:00:00:00:01")
	if code != 500 || strings.Contains(body, "token") {
		t.Fatalf("%d %q: want 500 without internals", code, body)
	}
	logs := e.logs.String()
	for _, want := range []string{`"group":"grp"`, "generic/g.txt", "token"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	// Butane that renders but does not translate (relative path).
	code, _, _ = e.get("/ignition?mac=52:54:00:00:00:01&path=relative")
	if code != 500 || !strings.Contains(e.logs.String(), "absolute") {
		t.Fatalf("butane error: %d\n%s", code, e.logs.String())
	}
	code, body, _ = e.get("/ignition?mac=52:54:00:00:00:01&path=/etc/ok")
	if code != 200 || !strings.Contains(body, "/etc/ok") {
		t.Fatalf("good render: %d %s", code, body)
	}
}

func TestPoolExhaustedIs503(t *testing.T) {
	dir := writeCatalog(t, map[string]string{
		"profiles/p.json": `{"id":"p","boot":{"kernel":"/k","args":["ip={{.ip.address}}"]}}`,
		"groups/g.json":   `{"id":"g","profile":"p","pool":"tiny"}`,
		"pools/tiny.json": `{"name":"tiny","cidr":"192.168.7.0/29","start":"192.168.7.2","end":"192.168.7.3"}`,
	})
	e := newEnv(t, dir)
	for i, want := range []string{"192.168.7.2", "192.168.7.3"} {
		code, body, _ := e.get("/ipxe?mac=52:54:00:00:00:0" + string(rune('1'+i)))
		if code != 200 || !strings.Contains(body, "ip="+want) {
			t.Fatalf("machine %d: %d %s", i, code, body)
		}
	}
	code, body, _ := e.get("/ipxe?mac=52:54:00:00:00:09")
	if code != 503 || !strings.Contains(body, `"tiny"`) {
		t.Fatalf("exhausted: %d %q", code, body)
	}
	// The earlier machines keep their addresses.
	code, body, _ = e.get("/ipxe?mac=52:54:00:00:00:01")
	if code != 200 || !strings.Contains(body, "ip=192.168.7.2") {
		t.Fatalf("after exhaustion: %d %s", code, body)
	}
	// A pooled group needs a mac.
	code, body, _ = e.get("/ipxe?uuid=11111111-2222-3333-4444-555555555555")
	if code != 400 || !strings.Contains(body, "mac") {
		t.Fatalf("no mac: %d %q", code, body)
	}
}

func TestMetadataFormats(t *testing.T) {
	e := newEnv(t, testCatalog)
	code, body, hdr := e.get("/metadata?mac=52-54-00-89-d8-10")
	if code != 200 || hdr.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("%d %q", code, hdr.Get("Content-Type"))
	}
	for _, want := range []string{"IP_ADDRESS=10.0.0.101\n", "IP_DNS=10.0.0.1,10.0.0.2\n", "ROLE=services\n", "REQUEST_QUERY_MAC=52:54:00:89:d8:10\n", "MACHINE_NAME=node1\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("metadata lacks %q:\n%s", want, body)
		}
	}
	code, body, hdr = e.get("/metadata?mac=52-54-00-89-d8-10", "Accept", "application/json")
	var v map[string]any
	if code != 200 || hdr.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(body), &v) != nil {
		t.Fatalf("json: %d %q %s", code, hdr.Get("Content-Type"), body)
	}
	if v["ip"].(map[string]any)["cidr"] != "10.0.0.101/24" {
		t.Errorf("json ip = %v", v["ip"])
	}
}

func TestInventoryRecordsBoots(t *testing.T) {
	e := newEnv(t, testCatalog)
	e.get("/ipxe?mac=52-54-00-89-d8-10")
	if m, _ := e.rec.Get("52:54:00:89:d8:10"); m.State != inventory.Booting || m.Group != "services" {
		t.Fatalf("after /ipxe: %+v", m)
	}
	e.get("/ignition?mac=52-54-00-89-d8-10")
	m, _ := e.rec.Get("52:54:00:89:d8:10")
	if m.State != inventory.Configured || m.LastEndpoint != "/ignition" || len(m.Events) != 2 {
		t.Fatalf("after /ignition: %+v", m)
	}
	e.get("/ipxe?mac=52:54:00:12:34:56&role=nobody-matches")
	// the default group matches everything, so use a catalog without one
	dir := writeCatalog(t, map[string]string{
		"profiles/p.json": `{"id":"p","boot":{"kernel":"/k"}}`,
		"groups/g.json":   `{"id":"g","profile":"p","selector":{"role":"x"}}`,
	})
	e2 := newEnv(t, dir)
	e2.get("/ipxe?mac=52:54:00:12:34:56")
	if m, _ := e2.rec.Get("52:54:00:12:34:56"); m.State != inventory.Discovered {
		t.Fatalf("unmatched machine: %+v", m)
	}
	// Flushed to the store in a batch.
	if err := e.rec.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	stored, err := e.store.Machines(t.Context())
	if err != nil || len(stored) != 2 {
		t.Fatalf("stored %d machines, %v", len(stored), err)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t, testCatalog)
	if code, body, _ := e.get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz %d %q", code, body)
	}
	if code, _, _ := e.get("/readyz"); code != 200 {
		t.Errorf("readyz %d", code)
	}
	e.get("/ipxe?mac=52:54:00:89:d8:10")
	e.get("/ipxe?mac=bad")
	_, body, _ := e.get("/metrics")
	for _, want := range []string{
		`provisiond_http_requests_total{code="200",endpoint="/ipxe"} 1`,
		`provisiond_http_requests_total{code="400",endpoint="/ipxe"} 1`,
		`provisiond_http_request_duration_seconds_count{endpoint="/ipxe"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, "52:54:00") {
		t.Errorf("a mac leaked into metric labels")
	}
}

func TestNotReadyBeforeSwap(t *testing.T) {
	s := New(Config{})
	for _, p := range []string{"/readyz", "/ipxe?mac=52:54:00:89:d8:10"} {
		rec := httpRecorder(s, p)
		if rec != http.StatusServiceUnavailable {
			t.Errorf("%s before the catalog: %d", p, rec)
		}
	}
}

func TestAssets(t *testing.T) {
	e := newEnv(t, testCatalog)
	code, body, hdr := e.get("/assets/vmlinuz", "Range", "bytes=0-5")
	if code != 206 || body != "KERNEL" || hdr.Get("Content-Range") != "bytes 0-5/23" {
		t.Fatalf("range: %d %q %v", code, body, hdr)
	}
	for _, p := range []string{"/assets/", "/assets/flatcar", "/assets/../groups/default.json", "/assets/%2e%2e/groups/default.json", "/assets"} {
		code, body, _ := e.get(p)
		if code != 404 || strings.Contains(body, "profile") {
			t.Errorf("%s: %d %q", p, code, body)
		}
	}
}

// TestRecordKeepsNoRequestString: the inventory event of a boot request
// holds no substring of the request (its path, mac), which would keep the
// whole request line alive with the machine's record.
func TestRecordKeepsNoRequestString(t *testing.T) {
	dir := writeCatalog(t, map[string]string{
		"profiles/p.json": `{"id":"p","boot":{"kernel":"/k"},"generic_id":"g.txt"}`,
		"groups/g.json":   `{"id":"g","profile":"p","selector":{"mac":"52:54:00:00:00:01"}}`,
		"generic/g.txt":   "x\n",
	})
	e := newEnv(t, dir)
	for _, target := range []string{"/ipxe?mac=52:54:00:00:00:01&serial=S1", "/generic?mac=52:54:00:00:00:01"} {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", target, w.Code, w.Body)
		}
		m, ok := e.rec.Get("52:54:00:00:00:01")
		if !ok || len(m.Events) == 0 {
			t.Fatalf("%s: not recorded: %+v", target, m)
		}
		last := m.Events[len(m.Events)-1]
		lo := uintptr(unsafe.Pointer(unsafe.StringData(req.RequestURI)))
		hi := lo + uintptr(len(req.RequestURI))
		for _, s := range []string{last.Endpoint, m.Key, m.MAC, m.LastEndpoint, m.Hardware.Serial} {
			if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); p >= lo && p < hi {
				t.Errorf("%s: the record keeps %q, a substring of the request", target, s)
			}
		}
	}
}
