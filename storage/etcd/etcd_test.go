package etcd_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/etcd"
	"github.com/provisiond/provisiond/storage/storagetest"
)

var (
	singleOnce sync.Once
	single     *cluster
	prefixes   atomic.Int64
)

// singleMember returns the one-member cluster the conformance tests share,
// each under a prefix of its own. It is stopped when the first test that
// started it ends, so that test must outlive every user: TestConformance.
func singleMember(t *testing.T) *cluster {
	singleOnce.Do(func() { single = startCluster(t, 1) })
	if single == nil {
		t.Fatal("the shared etcd member did not start")
	}
	return single
}

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
