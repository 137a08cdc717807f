package examples_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/server"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/bolt"
)

// TestExamplesWithBootTokens serves every example with boot tokens on:
// each profile's ignition.config.url (or cloud-config-url) carries the
// token, the URL iPXE would
// fetch answers 200, and the same URL without the token answers 403.
// (Without tokens the URLs are the golden ones: TestExamples.)
func TestExamplesWithBootTokens(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.dir, func(t *testing.T) {
			store, err := bolt.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			dir := l.dir
			if l.edit != nil {
				dir = copyCatalog(t, l.from)
				l.edit(t, dir)
			}
			c, err := catalog.LoadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			table := ipam.NewTable(nil)
			snap, _, err := storage.Apply(context.Background(), store, table, c, catalog.Options{})
			if err != nil {
				t.Fatal(err)
			}
			srv := server.New(server.Config{Allocator: store, Leases: table,
				BootTokens: server.NewBootTokens([]string{"example-boot-secret-0123456789"}, time.Hour)})
			srv.Swap(snap)
			hs := httptest.NewServer(srv)
			defer hs.Close()
			for _, r := range l.roles {
				code, script := fetch(t, hs.URL+"/ipxe?"+r.query)
				u := bootArg(script, "ignition.config.url=")
				if u == "" {
					u = bootArg(script, "cloud-config-url=")
				}
				if code != 200 || u == "" {
					t.Fatalf("%s /ipxe: %d %s", r.name, code, script)
				}
				if !strings.Contains(u, "&token=") {
					t.Fatalf("%s: no token in %s", r.name, u)
				}
				if code, body := fetch(t, ipxeExpand(u, r.query)); code != 200 {
					t.Errorf("%s: %s: %d %s", r.name, u, code, body)
				}
				bare := u[:strings.Index(u, "&token=")]
				if code, _ := fetch(t, ipxeExpand(bare, r.query)); code != 403 {
					t.Errorf("%s: %s without the token: %d, want 403", r.name, bare, code)
				}
			}
		})
	}
}
