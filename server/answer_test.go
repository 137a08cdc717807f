package server

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
)

// answerCatalog: machines of group g (by mac prefix 52:54:00:00:00)
// draw from pool net; every endpoint's answer names the machine's
// address, the server URL and its metadata; the Ignition config is
// Butane, /ipxe carries the boot token and the members of the pool.
func answerCatalog(t *testing.T, name string) string {
	return writeCatalog(t, map[string]string{
		"profiles/p.json": `{"id":"p","boot":{"kernel":"/k","args":["name={{.name}}","ip={{.ip.address}}","url={{.server.url}}","token={{.boot_token}}","members={{range members \"role=node\"}}{{.ip}},{{end}}"]},"ignition_id":"p.yaml","generic_id":"p.txt"}`,
		"groups/g.json":   `{"id":"g","profile":"p","pool":"net","metadata":{"name":"` + name + `"}}`,
		"pools/net.json":  `{"name":"net","cidr":"10.0.0.0/24","start":"10.0.0.10","end":"10.0.0.200"}`,
		"ignition/p.yaml": "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /etc/who\n      contents:\n        inline: \"{{.name}} {{.ip.address}} {{.server.url}}\"\n",
		"generic/p.txt":   "name={{.name}} ip={{.ip.address}} url={{.server.url}}\n",
		"machines/a.json": `{"name":"a","mac":"52:54:00:00:00:01","labels":{"role":"node"}}`,
	})
}

// answerPaths are the endpoints that keep answers, by answer kind.
var answerPaths = map[int]string{
	answerIPXE:     "/ipxe",
	answerGRUB:     "/grub",
	answerIgnition: "/ignition",
	answerGeneric:  "/generic",
	answerMetadata: "/metadata",
}

// getHost fetches path with the Host header host ("": the listener's).
func (e *testEnv) getHost(path, host string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.http.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// plant replaces the answer of kind kept for query by a marked copy, valid
// for exactly what the real one was: a request answered with the mark was
// answered from the query cache entry.
func (e *testEnv) plant(query string, kind int) string {
	e.t.Helper()
	ent := e.srv.queries.get(query)
	if ent == nil {
		e.t.Fatalf("no query cache entry for %q", query)
	}
	a := ent.answers[kind].Load()
	if a == nil {
		e.t.Fatalf("no answer %d kept for %q", kind, query)
	}
	mark := fmt.Sprintf("MARK-%d-%s", kind, query)
	b := *a
	b.body = []byte(mark)
	ent.answers[kind].Store(&b)
	return mark
}

// TestAnswerKeptAndUsed: each endpoint's second request of a query is
// answered with what the first one rendered, kept in the query's entry;
// the answer is the render path's, byte for byte, and the inventory, the
// log line and the render cache hits count it as before.
func TestAnswerKeptAndUsed(t *testing.T) {
	st := &catalog.CacheStats{}
	dir := answerCatalog(t, "one")
	e := newEnv(t, dir, func(c *Config) { c.CacheStats = st })
	e.swapCatalogWith(dir, catalog.Options{Stats: st})
	for kind, path := range answerPaths {
		q := "mac=52:54:00:00:00:01"
		code, first := e.getHost(path+"?"+q, "")
		if code != 200 || !strings.Contains(first, "10.0.0.10") {
			t.Fatalf("%s: %d %q", path, code, first)
		}
		hits := float64(st.Hits.Load())
		if code, again := e.getHost(path+"?"+q, ""); code != 200 || again != first {
			t.Fatalf("%s again: %d %q, first %q", path, code, again, first)
		}
		if kind != answerMetadata && kind != answerGRUB {
			if got := float64(st.Hits.Load()); got != hits+1 {
				t.Errorf("%s: render cache hits %v, then %v, want one more", path, hits, got)
			}
		}
		mark := e.plant(q, kind)
		if code, body := e.getHost(path+"?"+q, ""); code != 200 || body != mark {
			t.Fatalf("%s: not answered from the entry: %d %q", path, code, body)
		}
	}
	if ent := e.srv.queries.get("mac=52:54:00:00:00:01"); ent == nil || ent.inv.Load() == nil {
		t.Fatalf("no inventory handle kept with the entry: %+v", ent)
	}
	m, ok := e.rec.Get("52:54:00:00:00:01")
	// every request is recorded: an event, or a repeat counted on one
	// (the same request again, inventory.Event.Repeats)
	requests := 0
	for _, ev := range m.Events {
		requests += 1 + ev.Repeats
	}
	if !ok || requests != 3*len(answerPaths) || m.Group != "g" {
		t.Fatalf("inventory: %d events of %d requests, group %q", len(m.Events), requests, m.Group)
	}
	if n := strings.Count(e.logs.String(), `"mac":"52:54:00:00:00:01","group":"g","profile":"p"`); n != 3*len(answerPaths) {
		t.Errorf("%d request lines with mac, group and profile, want %d", n, 3*len(answerPaths))
	}
}

// TestAnswerNotUsedWhenStale: a kept answer is not used after anything it
// depends on changed: the catalog (Swap), the server URL (another Host),
// the machine's lease, any other lease (members), the boot token's
// quarter; each time the request is rendered again and answered right.
func TestAnswerNotUsedWhenStale(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	bt := NewBootTokens([]string{"boot-secret-0123456789abcdef"}, time.Hour)
	bt.Now = func() time.Time { return now }
	e := newEnv(t, answerCatalog(t, "one"), func(c *Config) { c.BootTokens = bt })
	const mac = "52:54:00:00:00:01"
	tokenRe := regexp.MustCompile(`token=([A-Za-z0-9_-]+)`)
	ipxe := func(host string) string {
		t.Helper()
		code, body := e.getHost("/ipxe?mac="+mac, host)
		if code != 200 {
			t.Fatalf("/ipxe: %d %q", code, body)
		}
		return body
	}
	token := func() string {
		t.Helper()
		m := tokenRe.FindStringSubmatch(ipxe(""))
		if m == nil {
			t.Fatal("no token in /ipxe")
		}
		return m[1]
	}
	// config fetches a config endpoint with the current token.
	config := func(path, host string) (string, string) {
		t.Helper()
		q := "mac=" + mac + "&token=" + token()
		code, body := e.getHost(path+"?"+q, host)
		if code != 200 {
			t.Fatalf("%s: %d %q", path, code, body)
		}
		return q, body
	}
	ipxe("")
	ipxe("")

	t.Run("hit", func(t *testing.T) {
		mark := e.plant("mac="+mac, answerIPXE)
		if got := ipxe(""); got != mark {
			t.Fatalf("got %q, want the planted answer", got)
		}
	})
	t.Run("server URL", func(t *testing.T) {
		e.plant("mac="+mac, answerIPXE)
		got := ipxe("boot.example:8080")
		if !strings.Contains(got, "url=http://boot.example:8080") || strings.Contains(got, "MARK") {
			t.Fatalf("another Host: %q", got)
		}
		for _, path := range []string{"/ignition", "/generic", "/metadata"} {
			q, _ := config(path, "")
			e.plant(q, map[string]int{"/ignition": answerIgnition, "/generic": answerGeneric, "/metadata": answerMetadata}[path])
			_, got := config(path, "other.example")
			// /metadata does not show the server URL; its answer
			// depends on it all the same.
			if strings.Contains(got, "MARK") || (path != "/metadata" && !strings.Contains(got, "other.example")) {
				t.Fatalf("%s from another Host: %q", path, got)
			}
		}
	})
	t.Run("token", func(t *testing.T) {
		first := token()
		e.plant("mac="+mac, answerIPXE)
		now = now.Add(20 * time.Minute) // the next quarter: a new token
		got := ipxe("")
		m := tokenRe.FindStringSubmatch(got)
		if strings.Contains(got, "MARK") || m == nil || m[1] == first {
			t.Fatalf("after the token's quarter: %q (token before %s)", got, first)
		}
	})
	t.Run("own lease", func(t *testing.T) {
		q, _ := config("/generic", "")
		e.plant(q, answerGeneric)
		e.plant("mac="+mac, answerIPXE)
		l, ok := e.table.Lookup("net", mac)
		if !ok {
			t.Fatal("no lease")
		}
		// An operator moves the machine's lease.
		l.Address = netip.MustParseAddr("10.0.0.99")
		e.table.Put(l)
		if got := ipxe(""); !strings.Contains(got, "ip=10.0.0.99") || strings.Contains(got, "MARK") {
			t.Fatalf("/ipxe after the lease moved: %q", got)
		}
		if _, got := config("/generic", ""); got != "name=one ip=10.0.0.99 url="+e.http.URL+"\n" {
			t.Fatalf("/generic after the lease moved: %q", got)
		}
	})
	t.Run("another lease", func(t *testing.T) {
		ipxe("")
		e.plant("mac="+mac, answerIPXE)
		// Another registered node gets a lease: the members list changes.
		e.table.Put(ipam.Lease{Pool: "net", MAC: "52:54:00:00:00:02", Address: netip.MustParseAddr("10.0.0.5")})
		if got := ipxe(""); strings.Contains(got, "MARK") {
			t.Fatalf("/ipxe after another lease: %q", got)
		}
	})
	t.Run("swap", func(t *testing.T) {
		ipxe("")
		e.plant("mac="+mac, answerIPXE)
		stale := e.srv.queries.get("mac=" + mac)
		e.swapCatalog(answerCatalog(t, "two"))
		// A request of the old snapshot that stores its entry and its
		// answer after Swap emptied the table (a race Swap cannot
		// exclude), with the lease generation of now.
		a := *stale.answers[answerIPXE].Load()
		a.gen = e.srv.leaseGen(e.srv.snap.Load())
		stale.answers[answerIPXE].Store(&a)
		e.srv.queries.put(stale)
		if got := ipxe(""); !strings.Contains(got, "name=two") || strings.Contains(got, "MARK") {
			t.Fatalf("/ipxe after the swap: %q", got)
		}
		_, got := config("/metadata", "")
		if !strings.Contains(got, "NAME=two") {
			t.Fatalf("/metadata after the swap: %q", got)
		}
	})
}

// TestAnswerPerMachine: machines asking in turn, again and again, each get
// their own answers (their own address and query) from every endpoint,
// and a lease deleted is not answered from a kept answer.
func TestAnswerPerMachine(t *testing.T) {
	e := newEnv(t, answerCatalog(t, "one"))
	want := map[string]string{}
	for round := range 3 {
		for i := range 8 {
			mac := fmt.Sprintf("52:54:00:00:01:%02x", i)
			for _, path := range answerPaths {
				code, body := e.getHost(path+"?mac="+mac, "")
				if code != 200 {
					t.Fatalf("%s %s: %d %q", path, mac, code, body)
				}
				l, ok := e.table.Lookup("net", mac)
				if !ok || !strings.Contains(body, l.Address.String()) {
					t.Fatalf("%s %s: %q, lease %v", path, mac, body, l.Address)
				}
				k := path + mac
				if round > 0 && body != want[k] {
					t.Fatalf("%s %s round %d: %q, before %q", path, mac, round, body, want[k])
				}
				want[k] = body
			}
		}
	}
	// The lease of machine 0 is deleted (an operator frees it): the next
	// boot gets a new lease, never the old answer.
	const mac = "52:54:00:00:01:00"
	old, _ := e.table.Lookup("net", mac)
	e.plant("mac="+mac, answerGeneric)
	if _, err := e.store.Release(t.Context(), "net", old.Address); err != nil {
		t.Fatal(err)
	}
	e.table.Delete("net", mac)
	code, body := e.getHost("/generic?mac="+mac, "")
	l, ok := e.table.Lookup("net", mac)
	if code != 200 || strings.Contains(body, "MARK") || !ok || !strings.Contains(body, "ip="+l.Address.String()+" ") {
		t.Fatalf("after the lease was deleted: %d %q, lease %v (before %v)", code, body, l.Address, old.Address)
	}
}

// TestAnswerNotKept: what depends on more than the kept inputs is never
// kept or used: install once's boot script (the machine's state),
// /metadata as JSON, a failed match; and past maxAnswerBytes the table
// starts over.
func TestAnswerNotKept(t *testing.T) {
	e, _ := lifecycleEnv(t, nil)
	const q = "mac=52-54-00-12-34-56&role=install"
	var installer string
	for range 2 {
		code, body, _ := e.get("/ipxe?" + q)
		if code != 200 || !strings.Contains(body, "kernel /assets/vmlinuz") {
			t.Fatalf("/ipxe: %d %q", code, body)
		}
		installer = body
	}
	if a := e.srv.queries.get(q).answers[answerIPXE].Load(); a != nil {
		t.Fatalf("an install once boot script was kept: %q", a.body)
	}
	if code, body := e.post("/installed?" + q); code != 200 {
		t.Fatalf("POST /installed: %d %q", code, body)
	}
	if code, body, _ := e.get("/ipxe?" + q); code != 200 || body != inventory.LocalBootIPXE || body == installer {
		t.Fatalf("/ipxe of the installed machine: %d %q", code, body)
	}

	e = newEnv(t, answerCatalog(t, "one"))
	const mq = "mac=52:54:00:00:00:01"
	for range 2 {
		if code, body, _ := e.get("/metadata?"+mq, "Accept", "application/json"); code != 200 || !strings.Contains(body, `"name": "one"`) {
			t.Fatalf("/metadata as JSON: %d %q", code, body)
		}
	}
	if a := e.srv.queries.get(mq).answers[answerMetadata].Load(); a != nil {
		t.Fatalf("/metadata as JSON was kept: %q", a.body)
	}
	e.get("/metadata?" + mq)
	e.plant(mq, answerMetadata)
	if code, body, _ := e.get("/metadata?"+mq, "Accept", "application/json"); code != 200 || !strings.Contains(body, `"name": "one"`) {
		t.Fatalf("/metadata as JSON with an env answer kept: %d %q", code, body)
	}

	// A pooled group without a mac fails its lease: nothing kept.
	const nq = "uuid=0b1c0f7e-7b6e-4b3c-9d1a-3f5e2a6c8d90"
	for range 2 {
		if code, _, _ := e.get("/ipxe?" + nq); code != 400 {
			t.Fatalf("a pooled group without a mac: %d, want 400", code)
		}
	}
	for k := range answerKinds {
		if a := e.srv.queries.get(nq).answers[k].Load(); a != nil {
			t.Fatalf("an answer %d kept for a failed request", k)
		}
	}

	// An answer rendered from another match than the entry's is not
	// kept in it.
	lw := &logWriter{}
	ent := &queryEntry{raw: "mac=52:54:00:00:00:09", epoch: e.srv.snap.Load().epoch, match: &catalog.Match{}}
	lw.info.query = ent
	e.srv.keep(lw, answerMetadata, &catalog.Match{}, e.table.Generation(), "", []byte("another machine's"), false)
	if a := ent.answers[answerMetadata].Load(); a != nil {
		t.Fatalf("kept an answer of another match: %q", a.body)
	}

	// A new answer past the bound: the table starts over.
	e.srv.queries.answerBytes.Store(maxAnswerBytes)
	if code, _, _ := e.get("/metadata?" + mq + "&x=1"); code != 200 {
		t.Fatalf("/metadata: %d", code)
	}
	if ent := e.srv.queries.get(mq); ent != nil {
		t.Fatalf("the table was not emptied past maxAnswerBytes: %+v", ent)
	}
	if n := e.srv.queries.answerBytes.Load(); n != 0 {
		t.Fatalf("answerBytes %d after the table was emptied", n)
	}
}

// recorderFunc is a Recorder that is not an *inventory.Recorder.
type recorderFunc func(mac, uuid string, e inventory.Event)

func (f recorderFunc) Record(mac, uuid string, e inventory.Event) { f(mac, uuid, e) }

// TestAnswerRecordsThroughAnyRecorder: with a Recorder that hands out no
// handles (the console's tee), every request, answered from the entry or
// not, is recorded through Record, with the entry's hardware facts.
func TestAnswerRecordsThroughAnyRecorder(t *testing.T) {
	events := make(chan inventory.Event, 100)
	e := newEnv(t, answerCatalog(t, "one"), func(c *Config) {
		c.Recorder = recorderFunc(func(mac, uuid string, ev inventory.Event) {
			if mac != "52:54:00:00:00:01" || uuid != "" {
				t.Errorf("recorded for %q %q", mac, uuid)
			}
			events <- ev
		})
	})
	for range 3 {
		for _, path := range []string{"/ipxe", "/metadata"} {
			if code, _ := e.getHost(path+"?mac=52:54:00:00:00:01&serial=S1", ""); code != 200 {
				t.Fatalf("%s: %d", path, code)
			}
		}
	}
	close(events)
	n := 0
	for ev := range events {
		if ev.Hardware.Serial != "S1" || ev.Group != "g" || ev.Status != 200 {
			t.Errorf("event %d: %+v", n, ev)
		}
		n++
	}
	if n != 6 {
		t.Fatalf("%d events, want 6", n)
	}
	if ent := e.srv.queries.get("mac=52:54:00:00:00:01&serial=S1"); ent == nil || ent.inv.Load() != nil {
		t.Fatalf("entry %+v: want one without a handle", ent)
	}
}
