package admin

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/provisiond/provisiond/server"
)

// The tests of this file drive both listeners (the boot server and the
// admin API, wired as provisiond serve wires them) and read the metrics
// they share; they moved here from server/ with the admin API.

// TestMetricsAfterBoots reads the metrics back after a scripted boot
// sequence: request counts by endpoint and code, latency observations,
// render cache hits and misses, pool addresses by state, machines by
// state, store operations, catalog objects.
func TestMetricsAfterBoots(t *testing.T) {
	e := newAdminEnv(t, testCatalogDir, nil)
	if code, body, _ := e.do("DELETE", "/api/v1/groups/default", ""); code != 204 {
		t.Fatalf("%d %s", code, body)
	}
	hits, misses := e.stats.Hits.Load(), e.stats.Misses.Load() // the load may render too
	for _, step := range []struct {
		path string
		code int
	}{
		{"/ipxe?mac=52:54:00:00:00:77&role=services", 200},     // a lease is created: 10.0.0.104
		{"/ignition?mac=52:54:00:00:00:77&role=services", 200}, // rendered: a miss
		{"/ignition?mac=52:54:00:00:00:77&role=services", 200}, // a hit
		{"/ipxe?mac=52:54:00:00:00:31&role=worker", 200},       // booting
		{"/ipxe?mac=52:54:00:00:00:99&role=nothing", 404},      // discovered
		{"/ipxe?mac=not-a-mac", 400},
		{"/metadata?mac=52:54:00:89:d8:10", 200}, // matched, yet no boot: discovered
	} {
		if code, body, _ := e.bootGet(step.path); code != step.code {
			t.Fatalf("%s: %d %s", step.path, code, body)
		}
	}
	want := `
# HELP provisiond_http_requests_total HTTP requests on the boot listener by route and status code.
# TYPE provisiond_http_requests_total counter
provisiond_http_requests_total{code="200",endpoint="/ignition"} 2
provisiond_http_requests_total{code="200",endpoint="/ipxe"} 2
provisiond_http_requests_total{code="200",endpoint="/metadata"} 1
provisiond_http_requests_total{code="400",endpoint="/ipxe"} 1
provisiond_http_requests_total{code="404",endpoint="/ipxe"} 1
# HELP provisiond_pool_addresses Addresses of each pool's assignable range by state: leased (held by a machine, pinned or automatic), free, reserved (the gateway and reserved addresses).
# TYPE provisiond_pool_addresses gauge
provisiond_pool_addresses{pool="services",state="free"} 15
provisiond_pool_addresses{pool="services",state="leased"} 4
provisiond_pool_addresses{pool="services",state="reserved"} 1
# HELP provisiond_machines Machines in the inventory by state: discovered (asked, no group matched), booting (got /ipxe or /grub), configured (got its config), installed, reprovisioning, failed (docs/lifecycle.md).
# TYPE provisiond_machines gauge
provisiond_machines{state="booting"} 1
provisiond_machines{state="configured"} 1
provisiond_machines{state="discovered"} 2
provisiond_machines{state="failed"} 0
provisiond_machines{state="installed"} 0
provisiond_machines{state="reprovisioning"} 0
# HELP provisiond_catalog_objects Objects in the served catalog by kind.
# TYPE provisiond_catalog_objects gauge
provisiond_catalog_objects{kind="groups"} 4
provisiond_catalog_objects{kind="machines"} 3
provisiond_catalog_objects{kind="pools"} 1
provisiond_catalog_objects{kind="profiles"} 4
provisiond_catalog_objects{kind="templates"} 6
`
	if err := testutil.GatherAndCompare(e.reg, strings.NewReader(want),
		"provisiond_http_requests_total",
		"provisiond_pool_addresses", "provisiond_machines", "provisiond_catalog_objects"); err != nil {
		t.Error(err)
	}
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, mf := range mfs {
		if m := mf.GetMetric(); len(m) == 1 && m[0].GetCounter() != nil {
			values[mf.GetName()] = m[0].GetCounter().GetValue()
		}
	}
	// One repeated /ignition is one hit; what else the cache holds (boot
	// scripts, say) may add misses.
	if got := values["provisiond_render_cache_hits_total"]; got != float64(hits+1) {
		t.Errorf("render cache hits %v, want %d", got, hits+1)
	}
	if got := values["provisiond_render_cache_misses_total"]; got < float64(misses+1) {
		t.Errorf("render cache misses %v, want at least %d", got, misses+1)
	}
	counts := map[string]uint64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				labels := ""
				for _, l := range m.GetLabel() {
					labels += l.GetName() + "=" + l.GetValue() + ","
				}
				counts[mf.GetName()+"{"+labels+"}"] = h.GetSampleCount()
			}
		}
	}
	for name, n := range map[string]uint64{
		"provisiond_http_request_duration_seconds{endpoint=/ipxe,}":                           4,
		"provisiond_store_operation_duration_seconds{op=allocate,}":                           1,
		"provisiond_store_operation_duration_seconds{op=replace_catalog,}":                    2, // the load and the delete
		"provisiond_admin_request_duration_seconds{method=DELETE,route=/api/v1/groups/{id},}": 1,
	} {
		if counts[name] != n {
			t.Errorf("%s: %d observations, want %d", name, counts[name], n)
		}
	}
	// No label carries a mac.
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), "52:54") {
					t.Errorf("%s has a mac in label %s", mf.GetName(), l.GetName())
				}
			}
		}
	}
	if err := testutil.GatherAndCompare(e.reg, strings.NewReader(`
# HELP provisiond_ready 1 once a catalog is loaded and served, else 0.
# TYPE provisiond_ready gauge
provisiond_ready 1
`), "provisiond_ready"); err != nil {
		t.Error(err)
	}
}

// TestReadyz: /readyz is 503 until a catalog is served.
func TestReadyz(t *testing.T) {
	s := server.New(server.Config{})
	if code := httpRecorder(s, "/readyz"); code != 503 {
		t.Errorf("before the catalog: %d", code)
	}
	e := newAdminEnv(t, testCatalogDir, nil)
	if code, _, _ := e.bootGet("/readyz"); code != 200 {
		t.Errorf("after the catalog: %d", code)
	}
}

// TestDocumentedMetricsExist: every provisiond_* metric that docs/api.md
// and the Grafana dashboard name is one the server exports.
func TestDocumentedMetricsExist(t *testing.T) {
	e := newAdminEnv(t, testCatalogDir, nil)
	e.bootGet("/ipxe?mac=52:54:00:00:00:77&role=services")
	e.bootGet("/ignition?mac=52:54:00:00:00:77&role=services")
	e.do("DELETE", "/api/v1/leases/services/10.0.0.104", "")
	e.do("PUT", "/api/v1/templates/generic/x", "x")
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, mf := range mfs {
		have[mf.GetName()] = true
	}
	name := regexp.MustCompile(`provisiond_[a-z_]+[a-z]`)
	for _, doc := range []string{"../docs/api.md", "../docs/grafana-dashboard.json"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range name.FindAllString(string(b), -1) {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_count"), "_sum")
			if !have[base] {
				t.Errorf("%s names %s, which is not exported", doc, n)
			}
		}
	}
}
