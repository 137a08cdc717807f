package console

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// get fetches a console page with a signed-in client and returns its
// text with the markup stripped and spaces collapsed, and the raw HTML.
func get(t *testing.T, r *rig, c *http.Client, path string) (text, html string) {
	t.Helper()
	resp, err := c.Get(r.Admin.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	html = body(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, html)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("GET %s: CSP %q", path, csp)
	}
	return squash(html), html
}

var tags = regexp.MustCompile(`<[^>]*>`)
var spaces = regexp.MustCompile(`\s+`)

func squash(html string) string {
	return strings.TrimSpace(spaces.ReplaceAllString(tags.ReplaceAllString(html, " "), " "))
}

// rows returns the text of each row of the table with this id.
func rows(t *testing.T, html, id string) []string {
	t.Helper()
	i := strings.Index(html, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no table %s", id)
	}
	table := html[i:]
	table = table[:strings.Index(table, "</table>")]
	body := table[strings.Index(table, "<tbody>"):]
	var out []string
	for _, tr := range strings.Split(body, "<tr")[1:] {
		out = append(out, squash("<tr"+tr))
	}
	return out
}

func TestMachinesPage(t *testing.T) {
	r := newRig(t, Config{})
	r.bootFleet(t)
	c := loggedIn(t, r)
	for _, tc := range []struct {
		query string
		want  []string // one substring per row, in order
	}{
		{"", []string{
			"node1 52:54:00:89:d8:10 configured services services 10.0.0.101",
			"node2 52:54:00:89:d8:11 unseen services services 10.0.0.102 never",
			"node3 ",
			"unregistered 52:54:00:aa:00:01 configured worker worker",
			"unregistered 52:54:00:aa:00:02 booting worker-cabinet-two worker",
			"unregistered 52:54:00:ff:00:01 discovered",
		}},
		{"?state=booting", []string{"52:54:00:aa:00:02 booting"}},
		{"?state=configured&group=worker", []string{"52:54:00:aa:00:01 configured worker"}},
		{"?q=AA-00-01", []string{"52:54:00:aa:00:01"}},
		{"?q=node2", []string{"node2 "}},
		{"?label=role%3Dservices", []string{"node1 ", "node2 ", "node3 "}},
		{"?label=cabinet", []string{"node1 ", "node2 ", "node3 "}},
		{"?label=cabinet%3Dtwo", []string{"node2 "}},
		{"?state=failed", []string{"No machine matches."}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			_, html := get(t, r, c, "/console/machines"+tc.query)
			got := rows(t, html, "machines")
			if len(got) != len(tc.want) {
				t.Fatalf("%d rows, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("row %d %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
	text, html := get(t, r, c, "/console/machines")
	if n := strings.Count(html, `<i class="predicted" title="never booted: the group it would match now">services</i>`); n != 2 {
		t.Errorf("%d groups shown as predicted, want node2's and node3's", n)
	}
	for _, want := range []string{"discovered 1", "booting 1", "configured 2", "unseen 2", "6 of 6 machines", "token:"} {
		if !strings.Contains(text, want) {
			t.Errorf("the machines page does not say %q:\n%s", want, text)
		}
	}
	// The live list starts with the latest events, newest first.
	live := rows(t, strings.Replace(html, `class="live"`, `id="livetable" class="live"`, 1), "livetable")
	if len(live) != 6 || !strings.Contains(live[0], "52:54:00:ff:00:01 /ipxe 404") {
		t.Errorf("live list %q", live)
	}
}

func TestMachinePage(t *testing.T) {
	r := newRig(t, Config{})
	r.bootFleet(t)
	c := loggedIn(t, r)
	text, html := get(t, r, c, "/console/machines/node1")
	for _, want := range []string{
		"node1 configured",
		"MAC 52:54:00:89:d8:10", "Group services", "Profile services",
		"cabinet=one role=services",
		"services 10.0.0.101 pinned",
		"Reprovision",
		"Group services , profile services , pool services : lease pinned 10.0.0.101",
		"kernel /assets/flatcar/current/flatcar_production_pxe.vmlinuz",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("node1's page does not say %q:\n%s", want, text)
		}
	}
	if tl := rows(t, html, "timeline"); len(tl) != 2 || !strings.Contains(tl[0], "/ignition 200 services") || !strings.Contains(tl[1], "/ipxe 200 services") {
		t.Errorf("timeline %q", tl)
	}
	if !strings.Contains(html, `data-live="/console/events?mac=52:54:00:89:d8:10"`) {
		t.Error("the timeline is not live")
	}
	if !strings.Contains(html, `"ignition"`) && !strings.Contains(html, "&#34;ignition&#34;") {
		t.Errorf("no Ignition config previewed")
	}
	// An unregistered machine, by mac; and the unknown one.
	text, _ = get(t, r, c, "/console/machines/52:54:00:aa:00:02")
	if !strings.Contains(text, "booting") || !strings.Contains(text, "no stored labels") || !strings.Contains(text, "no lease") {
		t.Errorf("worker2's page:\n%s", text)
	}
	// The same request again and again: one event that counts them.
	for range 3 {
		if got := bootAt(t, r.Boot.URL, "/ipxe", url.Values{"mac": {worker2}, "role": {"worker"}, "cabinet": {"two"}}); got != 200 {
			t.Fatalf("worker2's /ipxe again: %d", got)
		}
	}
	_, html = get(t, r, c, "/console/machines/"+worker2)
	// (the first /ipxe moved it to booting: an event of its own)
	if tl := rows(t, html, "timeline"); len(tl) != 2 || !regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /ipxe ×3, last \d\d:\d\d:\d\d 200 worker-cabinet-two`).MatchString(tl[0]) ||
		strings.Contains(tl[1], "×") {
		t.Errorf("worker2's timeline %q", tl)
	}
	if !strings.Contains(html, `title="the same request 3 times, the last at `) {
		t.Errorf("no title on the repeats")
	}
	text, _ = get(t, r, c, "/console/activity")
	if !regexp.MustCompile(`52:54:00:aa:00:02 /ipxe ×3, last \d\d:\d\d:\d\d 200`).MatchString(text) {
		t.Errorf("activity does not show worker2's repeats:\n%s", text)
	}
	text, _ = get(t, r, c, "/console/machines/52:54:00:ff:00:01")
	if !strings.Contains(text, "no group matches") {
		t.Errorf("the stranger's page:\n%s", text)
	}
	resp, err := c.Get(r.Admin.URL + "/console/machines/nosuch")
	if err != nil {
		t.Fatal(err)
	}
	if page := body(t, resp); resp.StatusCode != http.StatusNotFound || !strings.Contains(page, "No machine nosuch") {
		t.Errorf("an unknown machine: %d", resp.StatusCode)
	}
}

func TestPoolsLeasesGroupsProfiles(t *testing.T) {
	r := newRig(t, Config{})
	r.bootFleet(t)
	c := loggedIn(t, r)
	text, html := get(t, r, c, "/console/pools")
	// services: 10.0.0.101-120 (20), 3 pinned, 10.0.0.110 reserved.
	for _, want := range []string{"services 10.0.0.0/24", "Range 10.0.0.101 – 10.0.0.120", "Addresses 20 Pinned 3 Leased 0 Reserved 1 Free 16"} {
		if !strings.Contains(text, want) {
			t.Errorf("pools page does not say %q:\n%s", want, text)
		}
	}
	if !strings.Contains(html, `<rect class="pinned" x="0" y="0" width="150"`) || !strings.Contains(html, `<rect class="free" x="200" y="0" width="800"`) {
		t.Errorf("pool bar:\n%s", html)
	}
	_, html = get(t, r, c, "/console/leases")
	if got := rows(t, html, "lease-table"); len(got) != 3 || !strings.Contains(got[0], "services 10.0.0.101 52:54:00:89:d8:10 node1 pinned") {
		t.Errorf("leases %q", got)
	}
	text, _ = get(t, r, c, "/console/groups")
	for _, want := range []string{"services Central services", "role=services", "node1 node2 node3", "worker-cabinet-two", "52:54:00:aa:00:02", "Pool services"} {
		if !strings.Contains(text, want) {
			t.Errorf("groups page does not say %q:\n%s", want, text)
		}
	}
	text, _ = get(t, r, c, "/console/profiles")
	for _, want := range []string{"worker Worker", "Ignition worker.yaml", "Groups worker worker-cabinet-two", "52:54:00:aa:00:01 52:54:00:aa:00:02"} {
		if !strings.Contains(text, want) {
			t.Errorf("profiles page does not say %q:\n%s", want, text)
		}
	}
	text, _ = get(t, r, c, "/console/activity")
	if !strings.Contains(text, "52:54:00:ff:00:01 /ipxe 404") {
		t.Errorf("activity:\n%s", text)
	}
	// The static files are served, without listings.
	for path, code := range map[string]int{"/console/static/style.css": 200, "/console/static/live.js": 200, "/console/static/": 404, "/console/static/nope.css": 404} {
		resp, err := c.Get(r.Admin.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body(t, resp)
		if resp.StatusCode != code {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, code)
		}
	}
}
