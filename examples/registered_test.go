package examples_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/server"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/bolt"
)

// The pools of the examples' etcd members are limited to registered
// machines: an unregistered machine that claims the role in its query
// gets no address and no config of that role (before: a lease from the
// services pool and a 500), and the members list does not change.
func TestUnregisteredClaimsServices(t *testing.T) {
	for _, tc := range []struct{ dir, pool, claim string }{
		{"production", "services", "role=services"},
		{"swarm", "managers", "role=manager"},
		{"small-cluster", "nodes", "role=node"},
		{"dev-cluster", "etcd", "role=etcd"},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			store, err := bolt.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			c, err := catalog.LoadDir(tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			if p := c.Pools[tc.pool]; p == nil || !p.RegisteredOnly {
				t.Fatalf("pool %s is not limited to registered machines", tc.pool)
			}
			table := ipam.NewTable(nil)
			snap, _, err := storage.Apply(context.Background(), store, table, c, catalog.Options{})
			if err != nil {
				t.Fatal(err)
			}
			before, _ := store.Leases(t.Context())
			srv := server.New(server.Config{Allocator: store, Leases: table, Recorder: inventory.NewRecorder(store, nil, nil)})
			srv.Swap(snap)
			hs := httptest.NewServer(srv)
			defer hs.Close()
			const intruder = "52:54:00:66:66:66"
			for _, ep := range []string{"/ipxe", "/ignition", "/metadata"} {
				code, body := fetch(t, hs.URL+ep+"?mac="+intruder+"&"+tc.claim)
				// catalog.ErrNotRegistered: 403, saying why.
				if code != http.StatusForbidden || !strings.Contains(body, "limited to registered machines") {
					t.Errorf("%s: %d, want 403 saying the pool is limited to registered machines\n%s", ep, code, body)
				}
				if strings.Contains(body, "10.0.0.1") {
					t.Errorf("%s: the answer carries an address of the pool:\n%s", ep, body)
				}
			}
			after, _ := store.Leases(t.Context())
			if len(after) != len(before) {
				t.Errorf("%d leases before, %d after the claims", len(before), len(after))
			}
			if _, ok := table.Lookup(tc.pool, intruder); ok {
				t.Error("the intruder got a lease")
			}
		})
	}
}
