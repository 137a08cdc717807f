package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestAdminRoutes drives every admin route, with its errors, against a
// fresh server on the test catalog per case.
func TestAdminRoutes(t *testing.T) {
	const brokenButane = "variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n    - path: /etc/x\n      contents:\n        inlin: x\n"
	tests := []struct {
		name, method, path, body string
		hdr                      []string
		code                     int
		want                     []string // substrings of the body
		field                    string   // the error's field
	}{
		// profiles
		{name: "list profiles", method: "GET", path: "/api/v1/profiles", code: 200, want: []string{`"id": "etcd3"`, `"id": "worker"`}},
		{name: "get profile", method: "GET", path: "/api/v1/profiles/worker", code: 200, want: []string{`"ignition_id": "worker.yaml"`}},
		{name: "get missing profile", method: "GET", path: "/api/v1/profiles/nope", code: 404, want: []string{`"error": "profiles/nope: not found"`}},
		{name: "create profile", method: "PUT", path: "/api/v1/profiles/new", body: `{"boot":{"kernel":"/k"}}`, code: 201, want: []string{`"id": "new"`}},
		{name: "replace profile", method: "PUT", path: "/api/v1/profiles/raw", body: `{"id":"raw","boot":{"kernel":"/k2"},"ignition_id":"raw.ign"}`, code: 200, want: []string{`"/k2"`}},
		{name: "profile id differs from path", method: "PUT", path: "/api/v1/profiles/raw", body: `{"id":"other","boot":{}}`, code: 422, field: "id"},
		{name: "bad id in path", method: "PUT", path: "/api/v1/profiles/.hidden", body: `{"boot":{}}`, code: 400, field: "id"},
		{name: "malformed JSON", method: "PUT", path: "/api/v1/profiles/x", body: `{"boot":`, code: 400, want: []string{"malformed JSON"}},
		{name: "empty body", method: "PUT", path: "/api/v1/profiles/x", body: "", code: 400, want: []string{"empty body"}},
		{name: "null body", method: "PUT", path: "/api/v1/profiles/x", body: "null", code: 400},
		{name: "array body", method: "PUT", path: "/api/v1/groups/x", body: "[]", code: 400},
		{name: "trailing data", method: "PUT", path: "/api/v1/pools/x", body: `{"cidr":"10.9.0.0/24","start":"10.9.0.10","end":"10.9.0.20"}}`, code: 400},
		{name: "unknown field", method: "PUT", path: "/api/v1/profiles/x", body: `{"boot":{},"ignition":"x"}`, code: 422, field: "ignition"},
		{name: "wrong type", method: "PUT", path: "/api/v1/profiles/x", body: `{"boot":{"kernel":5}}`, code: 422, field: "boot.kernel"},
		{name: "profile names a missing template", method: "PUT", path: "/api/v1/profiles/x", body: `{"boot":{},"cloud_id":"nope.yaml"}`, code: 422, field: "cloud_id", want: []string{"no such template cloud/nope.yaml"}},
		{name: "profile boot template syntax", method: "PUT", path: "/api/v1/profiles/x", body: `{"boot":{"kernel":"{{ .x"}}`, code: 422, field: "boot.kernel"},
		{name: "delete unused profile", method: "DELETE", path: "/api/v1/profiles/new-one", code: 404},
		{name: "delete profile in use", method: "DELETE", path: "/api/v1/profiles/worker", code: 409, want: []string{"profiles/worker is still needed", "groups/"}},

		// groups
		{name: "list groups", method: "GET", path: "/api/v1/groups", code: 200, want: []string{`"id": "services"`}},
		{name: "get group", method: "GET", path: "/api/v1/groups/services", code: 200, want: []string{`"pool": "services"`}},
		{name: "create group", method: "PUT", path: "/api/v1/groups/web", body: `{"profile":"worker","selector":{"Role":"web"}}`, code: 201, want: []string{`"role": "web"`}},
		{name: "group names a missing profile", method: "PUT", path: "/api/v1/groups/web", body: `{"profile":"nope","selector":{"role":"web"}}`, code: 422, field: "profile", want: []string{`no such profile`}},
		{name: "group names a missing pool", method: "PUT", path: "/api/v1/groups/web", body: `{"profile":"worker","pool":"nope","selector":{"role":"web"}}`, code: 422, field: "pool"},
		{name: "identical selectors", method: "PUT", path: "/api/v1/groups/web", body: `{"profile":"worker","selector":{"role":"worker"}}`, code: 409, want: []string{"identical selectors {role=worker}"}},
		{name: "non-string selector", method: "PUT", path: "/api/v1/groups/web", body: `{"profile":"worker","selector":{"rack":5}}`, code: 422, field: "selector.rack"},
		{name: "bad mac selector", method: "PUT", path: "/api/v1/groups/web", body: `{"profile":"worker","selector":{"mac":"nope"}}`, code: 422, field: "selector.mac"},
		{name: "group without profile", method: "PUT", path: "/api/v1/groups/web", body: `{"selector":{"role":"web"}}`, code: 422, field: "profile"},
		{name: "delete group", method: "DELETE", path: "/api/v1/groups/worker-two", code: 204},
		{name: "delete missing group", method: "DELETE", path: "/api/v1/groups/nope", code: 404},

		// pools
		{name: "list pools", method: "GET", path: "/api/v1/pools", code: 200, want: []string{`"cidr": "10.0.0.0/24"`}},
		{name: "get pool", method: "GET", path: "/api/v1/pools/services", code: 200, want: []string{`"start": "10.0.0.101"`}},
		{name: "create pool", method: "PUT", path: "/api/v1/pools/lab", body: `{"cidr":"10.9.0.0/24","start":"10.9.0.10","end":"10.9.0.20"}`, code: 201, want: []string{`"name": "lab"`}},
		{name: "overlapping pools", method: "PUT", path: "/api/v1/pools/lab", body: `{"cidr":"10.0.0.0/16","start":"10.0.9.10","end":"10.0.9.20"}`, code: 409, want: []string{"pools overlap"}},
		{name: "pool start outside", method: "PUT", path: "/api/v1/pools/lab", body: `{"cidr":"10.9.0.0/24","start":"10.8.0.10","end":"10.9.0.20"}`, code: 422, field: "start"},
		{name: "pool bad cidr", method: "PUT", path: "/api/v1/pools/lab", body: `{"cidr":"10.9.0.1/24","start":"10.9.0.10","end":"10.9.0.20"}`, code: 422, field: "cidr"},
		{name: "shrinking a pool under its pins", method: "PUT", path: "/api/v1/pools/services", body: `{"cidr":"10.0.1.0/24","start":"10.0.1.101","end":"10.0.1.120"}`, code: 422, field: "leases.services"},
		{name: "delete pool in use", method: "DELETE", path: "/api/v1/pools/services", code: 409},

		// machines
		{name: "list machines", method: "GET", path: "/api/v1/machines", code: 200, want: []string{`"name": "node1"`, `"registered": true`, `"pins": {`}},
		{name: "get machine", method: "GET", path: "/api/v1/machines/node1", code: 200, want: []string{`"10.0.0.101"`}},
		{name: "get missing machine", method: "GET", path: "/api/v1/machines/nope", code: 404},
		{name: "register machine", method: "PUT", path: "/api/v1/machines/node4", body: `{"mac":"52-54-00-89-D8-13","labels":{"role":"services"}}`, code: 201, want: []string{`"mac": "52:54:00:89:d8:13"`}},
		{name: "pin outside its pool", method: "PUT", path: "/api/v1/machines/node4", body: `{"mac":"52:54:00:89:d8:13","leases":{"services":"10.1.0.5"}}`, code: 422, field: "leases.services", want: []string{"outside the pool's network"}},
		{name: "pin on the gateway", method: "PUT", path: "/api/v1/machines/node4", body: `{"mac":"52:54:00:89:d8:13","leases":{"services":"10.0.0.1"}}`, code: 422, field: "leases.services"},
		{name: "pin taken by another pin", method: "PUT", path: "/api/v1/machines/node4", body: `{"mac":"52:54:00:89:d8:13","leases":{"services":"10.0.0.101"}}`, code: 409, want: []string{"both pin 10.0.0.101"}},
		{name: "pin held by an automatic lease", method: "PUT", path: "/api/v1/machines/node4", body: `{"mac":"52:54:00:89:d8:13","leases":{"services":"10.0.0.102"}}`, code: 409, want: []string{"10.0.0.102"}},
		{name: "machine mac taken", method: "PUT", path: "/api/v1/machines/node4", body: `{"mac":"52:54:00:89:d8:10"}`, code: 409, want: []string{"both register mac"}},
		{name: "machine bad mac", method: "PUT", path: "/api/v1/machines/node4", body: `{"mac":"zz"}`, code: 422, field: "mac"},
		{name: "delete machine", method: "DELETE", path: "/api/v1/machines/node3", code: 204},

		// templates
		{name: "list templates", method: "GET", path: "/api/v1/templates", code: 200, want: []string{`"name": "etcd3.yaml"`, `"kind": "generic"`}},
		{name: "list templates of a kind", method: "GET", path: "/api/v1/templates/cloud", code: 200, want: []string{`"name": "worker.cloud"`}},
		{name: "unknown template kind", method: "GET", path: "/api/v1/templates/kickstart", code: 404, field: "kind"},
		{name: "get template", method: "GET", path: "/api/v1/templates/generic/etcd3.env", code: 200, want: []string{"ETCD"}},
		{name: "get missing template", method: "GET", path: "/api/v1/templates/generic/nope", code: 404},
		{name: "create template", method: "PUT", path: "/api/v1/templates/cloud/new.yaml", body: "#cloud-config\n", code: 201, want: []string{`"size": 14`}},
		{name: "template syntax error", method: "PUT", path: "/api/v1/templates/cloud/new.yaml", body: "{{ .x ", code: 422, want: []string{"cloud/new.yaml"}},
		{name: "static Butane that does not translate", method: "PUT", path: "/api/v1/templates/ignition/new.yaml", body: brokenButane, code: 422, want: []string{"unused key inlin", "line 7 col 9"}},
		{name: "used Butane that does not translate", method: "PUT", path: "/api/v1/templates/ignition/worker.yaml", body: brokenButane + "{{/* for a group */}}", code: 422, want: []string{"rendered for group", "unused key inlin"}},
		{name: "Container Linux Config", method: "PUT", path: "/api/v1/templates/ignition/clc.yaml", body: "passwd:\n  users:\n    - name: core\n", code: 422, want: []string{"Container Linux Config"}},
		{name: "raw Ignition of an unknown version", method: "PUT", path: "/api/v1/templates/ignition/x.ign", body: `{"ignition":{"version":"2.2.0"}}`, code: 422, want: []string{"2.2.0"}},
		{name: "template not UTF-8", method: "PUT", path: "/api/v1/templates/generic/bin", body: "\xff\xfe", code: 422},
		{name: "delete template in use", method: "DELETE", path: "/api/v1/templates/generic/etcd3.env", code: 409},
		{name: "delete template", method: "DELETE", path: "/api/v1/templates/ignition/worker.yaml", code: 409},

		// the whole catalog
		{name: "get catalog", method: "GET", path: "/api/v1/catalog", code: 200, want: []string{`"profiles": [`, `"templates": {`}},
		{name: "merge a group with its profile", method: "POST", path: "/api/v1/catalog", body: `{"profiles":[{"id":"web","boot":{"kernel":"/k"}}],"groups":[{"id":"web","profile":"web","selector":{"role":"web"}}]}`, code: 200, want: []string{`"created": [`, `"groups/web"`, `"profiles/web"`}},
		{name: "merge refused as a whole", method: "POST", path: "/api/v1/catalog", body: `{"profiles":[{"id":"web","boot":{"kernel":"/k"}}],"groups":[{"id":"web","profile":"webb"}]}`, code: 422, field: "profile"},
		{name: "document with a bad object", method: "POST", path: "/api/v1/catalog", body: `{"groups":[{"id":"a","profile":"worker"},{"id":"b","profile":"worker","selector":{"n":1}}]}`, code: 422, field: "groups[1].selector.n"},
		{name: "document with an unknown field", method: "POST", path: "/api/v1/catalog", body: `{"group":[]}`, code: 422, field: "group"},
		{name: "replace releasing registered machines' leases", method: "PUT", path: "/api/v1/catalog", body: `{"profiles":[{"id":"p","boot":{"kernel":"/k"}}],"groups":[{"id":"g","profile":"p"}]}`, code: 409, want: []string{"node1 services/10.0.0.101", "allow_release=true"}},
		{name: "replace the catalog", method: "PUT", path: "/api/v1/catalog?allow_release=true", body: `{"profiles":[{"id":"p","boot":{"kernel":"/k"}}],"groups":[{"id":"g","profile":"p"}]}`, code: 200, want: []string{`"deleted": [`, `"groups/services"`}},
		{name: "dry run", method: "PUT", path: "/api/v1/catalog?dry_run=true&allow_release=true", body: `{}`, code: 200, want: []string{`"dry_run": true`}},
		{name: "dry run of a refused replace", method: "PUT", path: "/api/v1/catalog?dry_run=true", body: `{}`, code: 409, want: []string{"no groups", "allow_release=true"}},
		{name: "replace with a stale If-Match", method: "PUT", path: "/api/v1/catalog", body: `{}`, hdr: []string{"If-Match", `"stale"`}, code: 412},

		// leases
		{name: "list leases", method: "GET", path: "/api/v1/leases", code: 200, want: []string{`"address": "10.0.0.101"`, `"machine": "node1"`, `"pinned": true`}},
		{name: "list leases of a pool", method: "GET", path: "/api/v1/leases?pool=other", code: 200, want: []string{"[]"}},
		{name: "release an automatic lease", method: "DELETE", path: "/api/v1/leases/services/10.0.0.102", code: 204},
		{name: "release a pinned lease", method: "DELETE", path: "/api/v1/leases/services/10.0.0.101", code: 409, field: "leases.services", want: []string{"pinned by machine node1"}},
		{name: "release a free address", method: "DELETE", path: "/api/v1/leases/services/10.0.0.119", code: 404},
		{name: "release a bad address", method: "DELETE", path: "/api/v1/leases/services/10.0.0", code: 400, field: "address"},

		// select and render
		{name: "select", method: "GET", path: "/api/v1/select?mac=52:54:00:00:00:31&role=worker&cabinet=two", code: 200, want: []string{`"group": "worker-two"`, `ranks below worker-two`, `"missing": [`}},
		{name: "select a registered machine", method: "GET", path: "/api/v1/select?mac=52:54:00:89:d8:10&role=worker", code: 200, want: []string{`"machine": "node1"`, `"group": "services"`, `"state": "pinned"`, `"address": "10.0.0.101"`}},
		{name: "select previews a lease", method: "GET", path: "/api/v1/select?mac=52:54:00:00:00:77&role=services", code: 200, want: []string{`"state": "preview"`, `"address": "10.0.0.104"`}},
		{name: "select a bad mac", method: "GET", path: "/api/v1/select?mac=nope", code: 400},
		{name: "render ipxe", method: "GET", path: "/api/v1/render/ipxe?mac=52:54:00:89:d8:10", code: 200, want: []string{"#!ipxe", "ip=10.0.0.101::10.0.0.1"}},
		{name: "render grub", method: "GET", path: "/api/v1/render/grub?mac=52:54:00:89:d8:10", code: 200, want: []string{"linux"}},
		{name: "render ignition", method: "GET", path: "/api/v1/render/ignition?mac=52:54:00:89:d8:10", code: 200, want: []string{`"version":"3.`}},
		{name: "render cloud", method: "GET", path: "/api/v1/render/cloud?mac=52:54:00:00:00:31&role=worker", code: 200, want: []string{"#cloud-config"}},
		{name: "render generic", method: "GET", path: "/api/v1/render/generic?mac=52:54:00:89:d8:10", code: 200, want: []string{"ETCD"}},
		{name: "render metadata", method: "GET", path: "/api/v1/render/metadata?mac=52:54:00:89:d8:10", code: 200, want: []string{"IP_ADDRESS=10.0.0.101"}},
		{name: "render a template the profile lacks", method: "GET", path: "/api/v1/render/cloud?mac=52:54:00:89:d8:10", code: 404},
		{name: "render an unknown endpoint", method: "GET", path: "/api/v1/render/pxe?mac=52:54:00:89:d8:10", code: 404, field: "endpoint"},
		{name: "render a bad uuid", method: "GET", path: "/api/v1/render/ipxe?uuid=nope", code: 400},
		{name: "render a pooled group without mac", method: "GET", path: "/api/v1/render/ipxe?role=services", code: 400, field: "mac"},

		// the router
		{name: "unknown route", method: "GET", path: "/api/v1/nope", code: 404, want: []string{`"error": "no such route`}},
		{name: "method not allowed", method: "POST", path: "/api/v1/profiles", body: "{}", code: 405},
		{name: "body too large", method: "PUT", path: "/api/v1/templates/generic/big", body: strings.Repeat("x", 1<<20+1), code: 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newAdminEnv(t, testCatalogDir, nil)
			code, body, hdr := e.do(tc.method, tc.path, tc.body, tc.hdr...)
			if code != tc.code {
				t.Fatalf("%s %s: %d, want %d\n%s", tc.method, tc.path, code, tc.code, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q:\n%s", w, body)
				}
			}
			if code >= 400 {
				var eb ErrorBody
				if err := json.Unmarshal([]byte(body), &eb); err != nil || eb.Error == "" {
					t.Fatalf("error is not JSON {\"error\": ...}: %v\n%s", err, body)
				}
				if hdr.Get("Content-Type") != "application/json" {
					t.Errorf("error Content-Type %q", hdr.Get("Content-Type"))
				}
				if eb.Field != tc.field {
					t.Errorf("field %q, want %q (%s)", eb.Field, tc.field, eb.Error)
				}
			}
		})
	}
}

// TestAdminRefusedWriteChangesNothing: after a refused write the catalog,
// the store and the served snapshot are as they were.
func TestAdminRefusedWriteChangesNothing(t *testing.T) {
	e := newAdminEnv(t, testCatalogDir, nil)
	_, before, _ := e.do("GET", "/api/v1/catalog", "")
	snap := e.srv.Snapshot()
	for _, w := range []struct{ method, path, body string }{
		{"PUT", "/api/v1/groups/web", `{"profile":"nope"}`},
		{"DELETE", "/api/v1/profiles/worker", ""},
		{"PUT", "/api/v1/machines/node4", `{"mac":"52:54:00:89:d8:13","leases":{"services":"10.0.0.102"}}`},
		{"POST", "/api/v1/catalog", `{"profiles":[{"id":"web","boot":{}}],"groups":[{"id":"web","profile":"webb"}]}`},
	} {
		if code, body, _ := e.do(w.method, w.path, w.body); code < 400 {
			t.Fatalf("%s %s accepted: %d %s", w.method, w.path, code, body)
		}
	}
	_, after, _ := e.do("GET", "/api/v1/catalog", "")
	if before != after {
		t.Errorf("the catalog changed")
	}
	if e.srv.Snapshot() != snap {
		t.Errorf("a new snapshot is served")
	}
	stored, err := e.store.LoadCatalog(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.Groups) != 5 || stored.Machines["node4"] != nil {
		t.Errorf("the store changed: %d groups", len(stored.Groups))
	}
}

// TestAdminWriteIsServed: a write is in the store and served at once.
func TestAdminWriteIsServed(t *testing.T) {
	e := newAdminEnv(t, testCatalogDir, nil)
	if code, body, _ := e.do("POST", "/api/v1/catalog", `{"profiles":[{"id":"web","boot":{"kernel":"/web"}}],"groups":[{"id":"web","profile":"web","selector":{"role":"web"}}]}`); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if code, body, _ := e.bootGet("/ipxe?mac=52:54:00:00:00:05&role=web"); code != 200 || !strings.Contains(body, "kernel /web") {
		t.Errorf("/ipxe after the write: %d %s", code, body)
	}
	stored, _ := e.store.LoadCatalog(t.Context())
	if stored.Groups["web"] == nil {
		t.Errorf("the group is not in the store")
	}
	// Registering a machine in a pooled group gives it its lease now.
	if code, body, _ := e.do("PUT", "/api/v1/machines/node4", `{"mac":"52:54:00:89:d8:13","labels":{"role":"services"}}`); code != 201 {
		t.Fatalf("%d %s", code, body)
	}
	if l, ok := e.table.Lookup("services", "52:54:00:89:d8:13"); !ok || l.Address.String() != "10.0.0.104" {
		t.Errorf("lease of the new machine: %v %v", l, ok)
	}
	// Deleting it releases the lease.
	if code, _, _ := e.do("DELETE", "/api/v1/machines/node4", ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if _, ok := e.table.Lookup("services", "52:54:00:89:d8:13"); ok {
		t.Errorf("lease kept after the machine was deleted")
	}
}

// TestAdminETag: GET gives an ETag; a PUT with If-Match passes while it
// matches and is refused with 412 once it does not; If-Match "*" needs the
// object, If-None-Match "*" needs its absence.
func TestAdminETag(t *testing.T) {
	e := newAdminEnv(t, testCatalogDir, nil)
	_, _, h := e.do("GET", "/api/v1/groups/worker", "")
	etag := h.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("ETag %q", etag)
	}
	body := `{"profile":"worker","selector":{"role":"worker"},"name":"renamed"}`
	code, _, h2 := e.do("PUT", "/api/v1/groups/worker", body, "If-Match", etag)
	if code != 200 || h2.Get("ETag") == etag {
		t.Fatalf("PUT with the current ETag: %d, ETag %q", code, h2.Get("ETag"))
	}
	if code, _, _ := e.do("PUT", "/api/v1/groups/worker", body, "If-Match", etag); code != 412 {
		t.Errorf("PUT with a stale ETag: %d", code)
	}
	if _, _, h3 := e.do("GET", "/api/v1/groups/worker", ""); h3.Get("ETag") != h2.Get("ETag") {
		t.Errorf("GET ETag %q differs from the PUT's %q", h3.Get("ETag"), h2.Get("ETag"))
	}
	if code, _, _ := e.do("PUT", "/api/v1/groups/new", `{"profile":"worker","selector":{"role":"new"}}`, "If-Match", "*"); code != 412 {
		t.Errorf("If-Match * on a missing object: %d", code)
	}
	if code, _, _ := e.do("PUT", "/api/v1/groups/worker", body, "If-None-Match", "*"); code != 412 {
		t.Errorf("If-None-Match * on an existing object: %d", code)
	}
	if code, _, _ := e.do("DELETE", "/api/v1/groups/worker", "", "If-Match", etag); code != 412 {
		t.Errorf("DELETE with a stale ETag: %d", code)
	}
	_, _, ht := e.do("GET", "/api/v1/templates/generic/etcd3.env", "")
	if code, _, _ := e.do("PUT", "/api/v1/templates/generic/etcd3.env", "X=1\n", "If-Match", ht.Get("ETag")); code != 200 {
		t.Errorf("template PUT with its ETag: %d", code)
	}
}

// TestAdminConcurrentIfMatch: N clients read the same version and PUT
// with If-Match at once: exactly one wins, the others get 412.
func TestAdminConcurrentIfMatch(t *testing.T) {
	const n = 16
	e := newAdminEnv(t, testCatalogDir, nil)
	_, _, h := e.do("GET", "/api/v1/groups/worker", "")
	etag := h.Get("ETag")
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"profile":"worker","selector":{"role":"worker"},"name":"writer %d"}`, i)
			req, _ := http.NewRequest("PUT", e.admin.URL+"/api/v1/groups/worker", strings.NewReader(body))
			req.Header.Set("If-Match", etag)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	won, lost := 0, 0
	for c := range codes {
		switch c {
		case 200:
			won++
		case 412:
			lost++
		default:
			t.Errorf("status %d", c)
		}
	}
	if won != 1 || lost != n-1 {
		t.Errorf("%d won, %d got 412; want 1 and %d", won, lost, n-1)
	}
}

// TestAdminRenderIsTheBootAnswer: render answers byte for byte what the
// boot endpoint answers, records nothing and creates no lease; a machine
// without a lease is rendered with the address the boot then gets.
func TestAdminRenderIsTheBootAnswer(t *testing.T) {
	e := newAdminEnv(t, testCatalogDir, nil)
	queries := []string{
		"mac=52:54:00:89:d8:10",
		"mac=52:54:00:00:00:31&role=worker&cabinet=two",
		"mac=52:54:00:00:00:77&role=services", // no lease yet
		"mac=52:54:00:aa:bb:cc",
		"uuid=11111111-2222-3333-4444-555555555555",
	}
	type answer struct {
		code int
		body string
		hdr  http.Header
	}
	endpoints := []string{"ipxe", "grub", "ignition", "cloud", "generic", "metadata"}
	rendered := map[string]answer{}
	for _, q := range queries {
		for _, ep := range endpoints {
			code, body, h := e.do("GET", "/api/v1/render/"+ep+"?"+q, "", "X-Provisiond-Server-URL", e.boot.URL)
			rendered[ep+"?"+q] = answer{code, body, h}
			if strings.Contains(q, ":77") && code == 200 && (h.Get("X-Provisiond-Lease") != "preview" || h.Get("X-Provisiond-Address") != "10.0.0.104") {
				t.Errorf("%s?%s: X-Provisiond-Lease %q %q", ep, q, h.Get("X-Provisiond-Lease"), h.Get("X-Provisiond-Address"))
			}
		}
	}
	if _, leased := e.table.Lookup("services", "52:54:00:00:00:77"); leased {
		t.Fatalf("render created a lease")
	}
	if n := len(e.rec.List()); n != 0 {
		t.Fatalf("render recorded %d machines", n)
	}
	for _, q := range queries {
		for _, ep := range endpoints {
			r := rendered[ep+"?"+q]
			wcode, want, wh := e.bootGet("/" + ep + "?" + q)
			if wcode == 500 && r.code == 422 {
				continue // a template that fails: the boot gets 500, the operator the cause
			}
			if r.code != wcode || (r.code == 200 && (r.body != want || r.hdr.Get("Content-Type") != wh.Get("Content-Type"))) {
				t.Errorf("%s?%s: render %d %q\nboot %d %q", ep, q, r.code, r.body, wcode, want)
			}
		}
	}
	_, got, _ := e.do("GET", "/api/v1/render/metadata?mac=52:54:00:89:d8:10", "", "Accept", "application/json")
	_, want, _ := e.bootGet("/metadata?mac=52:54:00:89:d8:10", "Accept", "application/json")
	if got != want {
		t.Errorf("metadata JSON: render %q, boot %q", got, want)
	}
}

// TestAdminSelectNoMatch: without a default group, select says nothing
// matches and why; render answers 404.
func TestAdminSelectNoMatch(t *testing.T) {
	e := newAdminEnv(t, testCatalogDir, nil)
	if code, body, _ := e.do("DELETE", "/api/v1/groups/default", ""); code != 204 {
		t.Fatalf("%d %s", code, body)
	}
	code, body, _ := e.do("GET", "/api/v1/select?mac=52:54:00:00:00:01&role=db", "")
	if code != 200 || !strings.Contains(body, `"matched": false`) || !strings.Contains(body, `"role=services"`) {
		t.Errorf("select: %d %s", code, body)
	}
	if code, _, _ := e.do("GET", "/api/v1/render/ipxe?mac=52:54:00:00:00:01&role=db", ""); code != 404 {
		t.Errorf("render: %d", code)
	}
}

// TestAdminDiscoveredMachines: machines that only asked are listed, with
// their state, and found by mac.
func TestAdminDiscoveredMachines(t *testing.T) {
	e := newAdminEnv(t, testCatalogDir, nil)
	e.bootGet("/ipxe?mac=52:54:00:00:00:31&role=worker")
	e.bootGet("/ignition?mac=52:54:00:00:00:31&role=worker")
	e.bootGet("/ipxe?mac=52:54:00:00:00:32")
	code, body, _ := e.do("GET", "/api/v1/machines?registered=false", "")
	if code != 200 || !strings.Contains(body, `"state": "configured"`) || !strings.Contains(body, `"state": "booting"`) || strings.Contains(body, "node1") {
		t.Errorf("discovered machines: %d %s", code, body)
	}
	code, body, _ = e.do("GET", "/api/v1/machines/52-54-00-00-00-31", "")
	if code != 200 || !strings.Contains(body, `"endpoint": "/ignition"`) || !strings.Contains(body, `"group": "worker"`) {
		t.Errorf("machine by mac: %d %s", code, body)
	}
	code, body, _ = e.do("GET", "/api/v1/machines?state=configured", "")
	var ms []MachineView
	json.Unmarshal([]byte(body), &ms)
	if code != 200 || len(ms) != 1 {
		t.Errorf("state filter: %d %s", code, body)
	}
}
