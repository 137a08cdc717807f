package etcd_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/etcd"
	"github.com/provisiond/provisiond/storage/storagetest"
)

// prefixes numbers the prefixes of tests that share a cluster.
var prefixes atomic.Int64

// singleMember starts a one-member cluster for t; its subtests share it,
// each under a prefix of its own.
func singleMember(t *testing.T) *cluster { return startCluster(t, 1) }

func open(t *testing.T, c *cluster, prefix string) *etcd.Store {
	t.Helper()
	s, err := etcd.Open(t.Context(), etcd.Config{Endpoints: c.endpoints(), Prefix: prefix, RequestTimeout: 3 * time.Second})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	c := singleMember(t)
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return open(t, c, fmt.Sprintf("/conformance/%d/", prefixes.Add(1)))
	}, func(t *testing.T, old storage.Store) storage.Store {
		prefix := old.(*etcd.Store).Prefix()
		if err := old.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		return open(t, c, prefix)
	})
}

// TestReplaceCatalogLimits checks the paths of ReplaceCatalog that the
// conformance suite's small catalogs never take: more new leases than one
// transaction holds, and changes beyond etcd's limits, refused whole.
func TestReplaceCatalogLimits(t *testing.T) {
	c := singleMember(t)
	s := open(t, c, fmt.Sprintf("/limits/%d/", prefixes.Add(1)))
	defer s.Close()
	ctx := t.Context()
	pool, err := ipam.Decode([]byte(`{"name":"big","cidr":"10.9.0.0/22","start":"10.9.0.10","end":"10.9.3.250"}`))
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New()
	cat.Pools[pool.Name] = pool

	// 300 registered machines ensured at once: 600 keys, far more than
	// the 128 operations of one transaction.
	var ops []storage.LeaseOp
	for i := range 300 {
		ops = append(ops, storage.LeaseOp{Kind: storage.OpEnsure, Pool: pool, MAC: testMAC(i), Machine: fmt.Sprintf("m%d", i)})
	}
	if err := s.ReplaceCatalog(ctx, cat, ops); err != nil {
		t.Fatalf("ReplaceCatalog ensuring 300 machines: %v", err)
	}
	ls, err := s.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[netip.Addr]bool{}
	for _, l := range ls {
		seen[l.Address] = true
	}
	if len(ls) != 300 || len(seen) != 300 {
		t.Fatalf("%d leases on %d addresses after ensuring 300 machines", len(ls), len(seen))
	}

	// 100 pins move 100 machines: 300 key changes that cannot be split.
	ops = nil
	for i := range 100 {
		ops = append(ops, storage.LeaseOp{Kind: storage.OpPin, Pool: pool, MAC: testMAC(i), Address: netip.MustParseAddr(fmt.Sprintf("10.9.3.%d", 100+i)), Machine: fmt.Sprintf("m%d", i)})
	}
	err = s.ReplaceCatalog(ctx, catalog.New(), ops)
	if err == nil || !strings.Contains(err.Error(), "--max-txn-ops") {
		t.Fatalf("ReplaceCatalog moving 100 pins: %v, want a refusal naming --max-txn-ops", err)
	}

	// A catalog beyond etcd's request size.
	big := catalog.New()
	noise := make([]byte, 2<<20)
	rand.NewChaCha8([32]byte{1}).Read(noise) // incompressible
	big.Templates[profiles.KindGeneric]["noise"] = string(noise)
	err = s.ReplaceCatalog(ctx, big, nil)
	if err == nil || !strings.Contains(err.Error(), "--max-request-bytes") {
		t.Fatalf("ReplaceCatalog of a 2 MiB catalog: %v, want a refusal naming --max-request-bytes", err)
	}
	// Neither refusal wrote anything.
	got, err := s.LoadCatalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Pools) != 1 || len(got.Templates[profiles.KindGeneric]) != 0 {
		t.Errorf("stored catalog changed by refused replacements: %d pools, %d generic templates", len(got.Pools), len(got.Templates[profiles.KindGeneric]))
	}
	after, err := s.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 300 {
		t.Errorf("%d leases after refused replacements, want 300", len(after))
	}
}
