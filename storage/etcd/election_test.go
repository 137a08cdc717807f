package etcd_test

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/etcd"
)

// TestLeaderKilledDuringBurst stops the etcd leader, as a crash would, in
// the middle of a burst of allocations and catalog writes from two
// replicas with the default request timeout. Quorum remains, so nothing
// may fail: requests caught by the election are retried inside the store
// instead of answering storage.ErrUnavailable. Afterwards no address is
// held twice and every acknowledged lease and write is stored.
func TestLeaderKilledDuringBurst(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	ctx := t.Context()
	const prefix = "/burst/"
	var stores []*etcd.Store
	var replicas []*storage.Catalogs
	for range 2 {
		s, err := etcd.Open(ctx, etcd.Config{Endpoints: c.endpoints(), Prefix: prefix}) // default RequestTimeout
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
		replicas = append(replicas, &storage.Catalogs{Store: s, Leases: ipam.NewTable(nil)})
	}
	pool, err := ipam.Decode([]byte(`{"name":"lan","cidr":"10.8.0.0/22","start":"10.8.0.10","end":"10.8.3.250"}`))
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New()
	cat.Pools[pool.Name] = pool
	if _, _, err := replicas[0].Replace(ctx, cat); err != nil {
		t.Fatalf("Replace: %v", err)
	}

	const machines, workers, killAfter = 400, 16, 100
	var (
		next, acked  atomic.Int64
		mu           sync.Mutex
		got          = map[string]netip.Addr{}
		failures     []error
		writes       []string
		writeFailure []error
	)
	killed := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= machines {
					return
				}
				mac := testMAC(100000 + i)
				l, err := stores[(i+w)%2].Allocate(ctx, pool, mac)
				mu.Lock()
				if err != nil {
					failures = append(failures, fmt.Errorf("%s: %w", mac, err))
				} else {
					got[mac] = l.Address
				}
				mu.Unlock()
				acked.Add(1)
			}
		})
	}
	// Catalog writes on both replicas, before, during and after the
	// election: until the allocations are done, and at least 10 each
	// after the leader is stopped.
	allocated := make(chan struct{})
	var writers sync.WaitGroup
	for r := range replicas {
		writers.Go(func() {
			after := 0
			for i := 0; ; i++ {
				select {
				case <-allocated:
					if after >= 10 {
						return
					}
				default:
				}
				select {
				case <-killed:
					after++
				default:
				}
				id := fmt.Sprintf("p%d-%d", r, i)
				err := putProfileOn(ctx, replicas[r], id)
				mu.Lock()
				if err != nil {
					writeFailure = append(writeFailure, fmt.Errorf("%s: %w", id, err))
				} else {
					writes = append(writes, id)
				}
				mu.Unlock()
			}
		})
	}
	for acked.Load() < killAfter {
		testingSleep()
	}
	leader := c.leader()
	c.stop(leader)
	before := acked.Load()
	close(killed)
	wg.Wait()
	close(allocated)
	writers.Wait()
	t.Logf("stopped member %d (the leader) after %d of %d allocations; %d catalog writes in all", leader, before, machines, len(writes))
	if before >= machines {
		t.Error("every allocation finished before the leader was stopped")
	}
	for _, err := range failures {
		if errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("allocation answered unavailable with quorum: %v", err)
		} else {
			t.Errorf("allocation failed: %v", err)
		}
	}
	for _, err := range writeFailure {
		t.Errorf("catalog write failed with quorum: %v", err)
	}

	// Every acknowledged lease is stored, no address twice.
	ls, err := stores[1].Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]netip.Addr{}
	owner := map[netip.Addr]string{}
	for _, l := range ls {
		if other, dup := owner[l.Address]; dup {
			t.Errorf("%s stored for %s and %s", l.Address, other, l.MAC)
		}
		owner[l.Address] = l.MAC
		stored[l.MAC] = l.Address
	}
	for mac, a := range got {
		if stored[mac] != a {
			t.Errorf("%s was answered %s, the store holds %v", mac, a, stored[mac])
		}
	}
	// Every acknowledged catalog write is stored.
	st, err := stores[0].LoadCatalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range writes {
		if st.Profiles[id] == nil {
			t.Errorf("acknowledged write of profile %s is not stored", id)
		}
	}
}
