package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/storage"
)

// queryCatalog is a catalog whose machine 52:54:00:00:00:01 is in group
// g (metadata host=NAME), another machine in the default group d.
func queryCatalog(t *testing.T, name string) string {
	return writeCatalog(t, map[string]string{
		"profiles/p.json": `{"id":"p","boot":{"kernel":"/k","args":["host={{.host}}"]}}`,
		"groups/g.json":   `{"id":"g","profile":"p","selector":{"mac":"52:54:00:00:00:01"},"metadata":{"host":"` + name + `"}}`,
		"groups/d.json":   `{"id":"d","profile":"p","metadata":{"host":"default"}}`,
	})
}

// swapCatalog loads dir and makes the server serve it, as a catalog
// reload does.
func (e *testEnv) swapCatalog(dir string) {
	e.t.Helper()
	e.swapCatalogWith(dir, catalog.Options{})
}

// swapCatalogWith is swapCatalog compiling with opt.
func (e *testEnv) swapCatalogWith(dir string, opt catalog.Options) {
	e.t.Helper()
	c, err := catalog.LoadDir(dir)
	if err != nil {
		e.t.Fatal(err)
	}
	snap, _, err := storage.Apply(context.Background(), e.store, e.table, c, opt)
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv.Swap(snap)
}

// TestQueryCacheAnswersAsResolving asks the same queries again and again:
// the answers, the log lines' group and the inventory's hardware are
// those of the first time (the query cache's entry), and the cache holds
// the queries with the snapshot's epoch.
func TestQueryCacheAnswersAsResolving(t *testing.T) {
	e := newEnv(t, queryCatalog(t, "one"))
	const q = "mac=52-54-00-00-00-01&serial=S1&arch=x86_64"
	var first string
	for i := range 3 {
		code, body, _ := e.get("/ipxe?" + q)
		if code != 200 || !strings.Contains(body, "host=one") {
			t.Fatalf("round %d: %d %q", i, code, body)
		}
		if i == 0 {
			first = body
		} else if body != first {
			t.Fatalf("round %d: %q, first %q", i, body, first)
		}
		if code, body, _ := e.get("/metadata?" + q); code != 200 || !strings.Contains(body, "HOST=one") {
			t.Fatalf("round %d /metadata: %d %q", i, code, body)
		}
	}
	ent := e.srv.queries.get(q)
	if ent == nil || ent.match == nil || ent.match.Group.ID != "g" || ent.epoch != e.srv.snap.Load().epoch {
		t.Fatalf("cache entry of %q: %+v", q, ent)
	}
	m, ok := e.rec.Get("52:54:00:00:00:01")
	if !ok || len(m.Events) != 6 || m.Group != "g" || m.Hardware == nil ||
		m.Hardware.Serial != "S1" || m.Hardware.Arch != "x86_64" {
		t.Fatalf("inventory: %+v", m)
	}
	for i, ev := range m.Events {
		want := []string{"/ipxe", "/metadata"}[i%2]
		if ev.Endpoint != want || ev.Group != "g" || ev.Status != 200 {
			t.Errorf("event %d: %+v, want %s of group g", i, ev, want)
		}
	}
	if n := strings.Count(e.logs.String(), `"mac":"52:54:00:00:00:01","group":"g","profile":"p"`); n != 6 {
		t.Errorf("%d request lines with mac, group and profile, want 6:\n%s", n, e.logs.String())
	}
}

// TestQueryCacheFollowsSwap: after a catalog swap, a query answered from
// the cache before is matched in the new snapshot (its group changed
// there), and no entry of the old snapshot is left in the table.
func TestQueryCacheFollowsSwap(t *testing.T) {
	e := newEnv(t, queryCatalog(t, "one"))
	const path = "/ipxe?mac=52:54:00:00:00:01"
	for range 2 {
		if code, body, _ := e.get(path); code != 200 || !strings.Contains(body, "host=one") {
			t.Fatalf("%d %q", code, body)
		}
	}
	old := e.srv.snap.Load().epoch
	stale := e.srv.queries.get("mac=52:54:00:00:00:01")
	if stale == nil || stale.epoch != old {
		t.Fatalf("entry before the swap: %+v", stale)
	}
	// The machine's group is gone: it falls to the default group.
	e.swapCatalog(writeCatalog(t, map[string]string{
		"profiles/p.json": `{"id":"p","boot":{"kernel":"/k","args":["host={{.host}}"]}}`,
		"groups/d.json":   `{"id":"d","profile":"p","metadata":{"host":"default"}}`,
	}))
	for i := range e.srv.queries.slots {
		if ent := e.srv.queries.slots[i].entry.Load(); ent != nil {
			t.Fatalf("slot %d after Swap: %+v", i, ent)
		}
	}
	// A request of the old snapshot that stores its entry after Swap
	// emptied the table (a race Swap cannot exclude): its match is not
	// used in the new epoch.
	e.srv.queries.put(stale)
	for range 2 {
		if code, body, _ := e.get(path); code != 200 || !strings.Contains(body, "host=default") {
			t.Fatalf("after swap: %d %q", code, body)
		}
	}
	// And back, with another name.
	e.swapCatalog(queryCatalog(t, "two"))
	if code, body, _ := e.get(path); code != 200 || !strings.Contains(body, "host=two") {
		t.Fatalf("after second swap: %d %q", code, body)
	}
	if ent := e.srv.queries.get("mac=52:54:00:00:00:01"); ent == nil || ent.epoch == old || ent.match.Group.ID != "g" {
		t.Fatalf("entry after second swap: %+v", ent)
	}
	m, _ := e.rec.Get("52:54:00:00:00:01")
	var groups []string
	for _, ev := range m.Events {
		g := ev.Group
		if ev.Repeats > 0 {
			// the same request again: counted on the event
			g += fmt.Sprintf("x%d", 1+ev.Repeats)
		}
		groups = append(groups, g)
	}
	// (the first /ipxe moved the machine to booting: an event of its own)
	if got := strings.Join(groups, ","); got != "g,g,dx2,g" {
		t.Errorf("events' groups %s, want g,g,dx2,g", got)
	}
}

// TestQueryCacheErrorsAndBounds: a query that fails to parse is refused
// every time and never kept; one that matches nothing is answered 404
// from the cache as from the index; a query longer than maxCachedQuery
// is answered and not kept; two queries of one slot never take each
// other's entry.
func TestQueryCacheErrorsAndBounds(t *testing.T) {
	dir := writeCatalog(t, map[string]string{
		"profiles/p.json": `{"id":"p","boot":{"kernel":"/k"}}`,
		"groups/g.json":   `{"id":"g","profile":"p","selector":{"role":"x"}}`,
	})
	e := newEnv(t, dir)
	for range 2 {
		if code, body, _ := e.get("/ipxe?mac=zz"); code != 400 {
			t.Fatalf("bad mac: %d %q", code, body)
		}
		if code, body, _ := e.get("/ipxe?mac=52:54:00:00:00:01"); code != 404 || body != "no matching group\n" {
			t.Fatalf("no match: %d %q", code, body)
		}
		if code, body, _ := e.get("/ipxe?role=x"); code != 200 {
			t.Fatalf("match: %d %q", code, body)
		}
	}
	if e.srv.queries.get("mac=zz") != nil {
		t.Error("a query that does not parse was kept")
	}
	if ent := e.srv.queries.get("mac=52:54:00:00:00:01"); ent == nil || ent.err == nil || ent.match == nil || ent.match.Group != nil {
		t.Errorf("no-match entry: %+v", ent)
	}
	long := "role=x&pad=" + strings.Repeat("a", maxCachedQuery)
	if code, body, _ := e.get("/ipxe?" + long); code != 200 {
		t.Fatalf("long query: %d %q", code, body)
	}
	if e.srv.queries.get(long) != nil {
		t.Error("a query longer than maxCachedQuery was kept")
	}
	for i := range e.srv.queries.slots {
		if ent := e.srv.queries.slots[i].entry.Load(); ent != nil && len(ent.raw) > maxCachedQuery {
			t.Errorf("slot %d holds a %d-byte query", i, len(ent.raw))
		}
	}

	// The queries of one set: each keeps its entry while the set has
	// room, and a new one evicts one of them, never answers for another.
	c := newQueryCache()
	var same []string
	_, first := c.set("mac=52:54:00:00:00:00")
	for i := 0; len(same) < queryCacheWays+1; i++ {
		q := fmt.Sprintf("mac=52:54:00:00:%02x:%02x", i>>8, i&0xff)
		_, set := c.set(q)
		if len(same) == 0 || &set[0] == &first[0] {
			same = append(same, q)
		}
	}
	for i, q := range same[:queryCacheWays] {
		c.put(&queryEntry{raw: q, epoch: uint64(i)})
	}
	for i, q := range same[:queryCacheWays] {
		if ent := c.get(q); ent == nil || ent.raw != q || ent.epoch != uint64(i) {
			t.Fatalf("%s: %+v", q, ent)
		}
	}
	c.put(&queryEntry{raw: same[0], epoch: 9}) // replaces its own
	if ent := c.get(same[0]); ent == nil || ent.epoch != 9 {
		t.Fatalf("replaced entry: %+v", ent)
	}
	last := same[queryCacheWays]
	if c.get(last) != nil {
		t.Fatal("an entry answered for another query of its set")
	}
	c.put(&queryEntry{raw: last})
	kept := 0
	for _, q := range same {
		if ent := c.get(q); ent != nil {
			if ent.raw != q {
				t.Fatalf("%s answered by %s", q, ent.raw)
			}
			kept++
		}
	}
	if c.get(last) == nil || kept != queryCacheWays {
		t.Fatalf("after a fifth query in a set of %d: %d kept", queryCacheWays, kept)
	}

}

// TestQueryCacheConcurrentSwaps serves one machine from many goroutines
// while the catalog is swapped between two versions: every answer is one
// of the two versions' (run with -race), and once the swaps end every
// answer is the last version's.
func TestQueryCacheConcurrentSwaps(t *testing.T) {
	e := newEnv(t, queryCatalog(t, "one"))
	dirs := []string{queryCatalog(t, "one"), queryCatalog(t, "two")}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan string, 16)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, body, _ := e.get("/ipxe?mac=52:54:00:00:00:01&arch=x86_64")
				if code != 200 || !(strings.Contains(body, "host=one") || strings.Contains(body, "host=two")) {
					select {
					case errs <- fmt.Sprintf("%d %q", code, body):
					default:
					}
					return
				}
			}
		}()
	}
	for i := range 20 {
		e.swapCatalog(dirs[i%2])
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for range 3 {
		if code, body, _ := e.get("/ipxe?mac=52:54:00:00:00:01&arch=x86_64"); code != 200 || !strings.Contains(body, "host=two") {
			t.Fatalf("after the swaps: %d %q", code, body)
		}
	}
	if m, _ := e.rec.Get("52:54:00:00:00:01"); m.Hardware == nil || m.Hardware.Arch != "x86_64" || m.State != inventory.Booting {
		t.Errorf("inventory: %+v", m)
	}
}
