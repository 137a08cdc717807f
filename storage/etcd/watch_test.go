package etcd_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// TestWatchCatchesUp cuts a replica off from the cluster while the other
// writes, and compacts the history it missed, so that its watch cannot
// resume: it must notice, reload everything and watch on.
func TestWatchCatchesUp(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	const prefix = "/catchup/"
	a := newReplica(t, "A", c, prefix, writeCatalog(t))
	b := newReplicaOn(t, "B", c.endpoints()[:1], prefix, "") // B knows member 0 only
	if code, _, body := a.boot(testMAC(1)); code != http.StatusOK {
		t.Fatalf("A: %d %s", code, body)
	}
	waitFor(t, "B to learn A's first lease", 2*time.Second, func() bool {
		_, ok := b.table.Lookup("lan", testMAC(1))
		return ok
	})

	c.stop(0)
	code, ip, body := a.boot(testMAC(2))
	if code != http.StatusOK {
		t.Fatalf("A with member 0 down: %d %s", code, body)
	}
	if err := setKernel(t.Context(), a, "/assets/v9/vmlinuz"); err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.endpoints()[1:], DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("Compact: %v", err)
	}

	c.restart(0)
	start := time.Now()
	waitFor(t, "B to catch up on the lease and the catalog written while it was cut off", 10*time.Second, func() bool {
		l, ok := b.table.Lookup("lan", testMAC(2))
		_, _, body := b.boot(testMAC(1))
		return ok && l.Address.String() == ip && containsKernel(body, "/assets/v9/vmlinuz")
	})
	t.Logf("B caught up %v after member 0 came back", time.Since(start))
	// And follows again.
	if err := setKernel(t.Context(), a, "/assets/v10/vmlinuz"); err != nil {
		t.Fatal(err)
	}
	waitKernel(t, b, testMAC(1), "/assets/v10/vmlinuz", 2*time.Second)
}

func waitFor(t *testing.T, what string, limit time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
