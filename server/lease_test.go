package server

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentFirstBoots: 1,000 machines ask at once for the first time.
// Each gets its own address, inside the pool and never a reserved one; the
// same 1,000 requests again get the same addresses.
func TestConcurrentFirstBoots(t *testing.T) {
	const n = 1000
	dir := writeCatalog(t, map[string]string{
		"profiles/p.json": `{"id":"p","boot":{"kernel":"/k"},"generic_id":"ip"}`,
		"generic/ip":      `{{ .ip.address }}`,
		"groups/g.json":   `{"id":"g","profile":"p","pool":"big"}`,
		"pools/big.json":  `{"name":"big","cidr":"10.1.0.0/22","start":"10.1.0.10","end":"10.1.3.250","gateway":"10.1.0.1","reserved":["10.1.0.11","10.1.0.200","10.1.1.0"]}`,
	})
	e := newEnv(t, dir)
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 256, MaxIdleConnsPerHost: 256}}
	round := func() map[string]string {
		got := make(map[string]string, n)
		var mu sync.Mutex
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mac := fmt.Sprintf("52:54:00:00:%02x:%02x", i>>8, i&0xff)
				resp, err := client.Get(e.http.URL + "/generic?mac=" + mac)
				if err != nil {
					errs <- err
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("%s: %d %s", mac, resp.StatusCode, body)
					return
				}
				mu.Lock()
				got[mac] = string(body)
				mu.Unlock()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		return got
	}
	first := round()
	pool := e.srv.Snapshot().Catalog.Pools["big"]
	seen := map[string]string{}
	for mac, addr := range first {
		a, err := netip.ParseAddr(strings.TrimSpace(addr))
		if err != nil {
			t.Fatalf("%s: %q", mac, addr)
		}
		if !pool.InRange(a) || pool.IsReserved(a) {
			t.Errorf("%s got %s: outside the range or reserved", mac, a)
		}
		if other, dup := seen[addr]; dup {
			t.Errorf("%s and %s both got %s", mac, other, addr)
		}
		seen[addr] = mac
	}
	if len(seen) != n {
		t.Fatalf("%d distinct addresses for %d machines", len(seen), n)
	}
	// Lowest free first: with 3 reserved in range, 1,000 leases fill
	// exactly the first 1,003 addresses of the range.
	last := pool.First()
	for range n + 2 {
		last = last.Next()
	}
	for addr := range seen {
		if a := netip.MustParseAddr(addr); last.Less(a) {
			t.Errorf("%s is beyond the first %d addresses of the range", a, n+3)
		}
	}
	second := round()
	for mac, addr := range first {
		if second[mac] != addr {
			t.Errorf("%s: %s, then %s", mac, addr, second[mac])
		}
	}
	// The store agrees with what was answered, in both directions.
	leases, err := e.store.Leases(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(leases) != n {
		t.Fatalf("store has %d leases", len(leases))
	}
	for _, l := range leases {
		if first[l.MAC] != l.Address.String() {
			t.Errorf("store: %s has %s, answered %s", l.MAC, l.Address, first[l.MAC])
		}
	}
}
