package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/server"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/etcd"
)

// replica is one provisiond wired as serve.go wires it: its own etcd
// client, lease table, Catalogs following the store's watch, and boot
// server on a loopback httptest listener.
type replica struct {
	name     string
	store    *etcd.Store
	table    *ipam.Table
	catalogs *storage.Catalogs
	url      string
}

func newReplica(t *testing.T, name string, c *cluster, prefix, catalogDir string) *replica {
	t.Helper()
	return newReplicaOn(t, name, c.endpoints(), prefix, catalogDir)
}

// newReplicaOn is newReplica with a client that knows only endpoints.
func newReplicaOn(t *testing.T, name string, endpoints []string, prefix, catalogDir string) *replica {
	t.Helper()
	ctx := context.Background()
	store, err := etcd.Open(ctx, etcd.Config{Endpoints: endpoints, Prefix: prefix, RequestTimeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("%s: Open: %v", name, err)
	}
	leases, err := store.Leases(ctx)
	if err != nil {
		t.Fatalf("%s: Leases: %v", name, err)
	}
	r := &replica{name: name, store: store, table: ipam.NewTable(leases)}
	r.catalogs = &storage.Catalogs{Store: store, Leases: r.table}
	srv := server.New(server.Config{Allocator: store, Leases: r.table})
	r.catalogs.Swap = srv.Swap
	if catalogDir != "" {
		cat, err := catalog.LoadDir(catalogDir)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.catalogs.Replace(ctx, cat); err != nil {
			t.Fatalf("%s: Replace: %v", name, err)
		}
	} else if _, _, err := r.catalogs.LoadStored(ctx); err != nil {
		t.Fatalf("%s: LoadStored: %v", name, err)
	}
	fctx, stop := context.WithCancel(ctx)
	followed := make(chan struct{})
	go func() { r.catalogs.Follow(fctx, store, nil); close(followed) }()
	hs := httptest.NewServer(srv)
	r.url = hs.URL
	t.Cleanup(func() {
		stop()
		<-followed
		hs.Close()
		store.Close()
	})
	return r
}

var client = &http.Client{Timeout: 30 * time.Second}

// boot asks r for mac's iPXE script and returns the status, the address
// the script carries, and the body.
func (r *replica) boot(mac string) (int, string, string) {
	resp, err := client.Get(r.url + "/ipxe?mac=" + mac)
	if err != nil {
		return 0, "", err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := ipArg.FindStringSubmatch(string(body))
	if resp.StatusCode != http.StatusOK || m == nil {
		return resp.StatusCode, "", string(body)
	}
	return resp.StatusCode, m[1], string(body)
}

var ipArg = regexp.MustCompile(`ip=(\S+)`)

func testMAC(i int) string {
	return fmt.Sprintf("02:42:%02x:%02x:%02x:%02x", byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
}

// writeCatalog writes a catalog whose default group draws from a pool of
// about a thousand addresses.
func writeCatalog(t *testing.T) string {
	dir := t.TempDir()
	files := map[string]string{
		"profiles/node.json": `{"id":"node","boot":{"kernel":"/assets/v1/vmlinuz","args":["ip={{.ip.address}}"]}}`,
		"groups/nodes.json":  `{"id":"nodes","profile":"node","pool":"lan"}`,
		"pools/lan.json":     `{"name":"lan","cidr":"10.8.0.0/22","start":"10.8.0.10","end":"10.8.3.250","gateway":"10.8.0.1"}`,
	}
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// bootAll boots macs [from, to) at once, even ones on a, odd ones on b
// (swapped when swap is set), and returns each one's address. Every boot
// must answer 200.
func bootAll(t *testing.T, a, b *replica, from, to int, swap bool) map[string]string {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		got  = map[string]string{}
		errs []error
	)
	for i := from; i < to; i++ {
		wg.Go(func() {
			r := a
			if (i%2 == 1) != swap {
				r = b
			}
			code, ip, body := r.boot(testMAC(i))
			mu.Lock()
			defer mu.Unlock()
			if code != http.StatusOK {
				errs = append(errs, fmt.Errorf("%s %s: %d %q", r.name, testMAC(i), code, body))
				return
			}
			got[testMAC(i)] = ip
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d boots failed, first: %v", len(errs), to-from, errs[0])
	}
	return got
}

func distinct(t *testing.T, leases map[string]string) {
	t.Helper()
	owner := map[string]string{}
	for mac, ip := range leases {
		if other, dup := owner[ip]; dup {
			t.Errorf("%s given to %s and %s", ip, other, mac)
		}
		owner[ip] = mac
	}
}

// setKernel changes the profile's kernel through r's Catalogs, as an
// admin API write does.
func setKernel(ctx context.Context, r *replica, kernel string) error {
	_, _, err := r.catalogs.Update(ctx, func(c *catalog.Catalog) error {
		p := *c.Profiles["node"]
		p.Boot.Kernel = kernel
		c.Profiles["node"] = &p
		return nil
	})
	return err
}

func containsKernel(body, kernel string) bool { return strings.Contains(body, "kernel "+kernel) }

// waitKernel polls r until its script names kernel, and returns how long
// that took.
func waitKernel(t *testing.T, r *replica, mac, kernel string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		_, _, body := r.boot(mac)
		if strings.Contains(body, "kernel "+kernel) {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s still serves %q %v after the change, want kernel %s", r.name, body, limit, kernel)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReplicas runs two provisiond replicas on one three-member cluster
// through a boot storm, an API write, and the loss and return of quorum.
func TestReplicas(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	const prefix = "/replicas/"
	a := newReplica(t, "A", c, prefix, writeCatalog(t))
	b := newReplica(t, "B", c, prefix, "")

	// 500 concurrent first boots spread over both replicas.
	start := time.Now()
	first := bootAll(t, a, b, 0, 500, false)
	t.Logf("500 concurrent first boots over two replicas: %v", time.Since(start))
	if len(first) != 500 {
		t.Fatalf("%d leases for 500 machines", len(first))
	}
	distinct(t, first)
	// The second round, each machine on the other replica, gives the same.
	start = time.Now()
	again := bootAll(t, a, b, 0, 500, true)
	t.Logf("second round: %v", time.Since(start))
	for mac, ip := range first {
		if again[mac] != ip {
			t.Errorf("%s: first %s, second round %s", mac, ip, again[mac])
		}
	}
	stored, err := a.store.Leases(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 500 {
		t.Errorf("%d stored leases, want 500", len(stored))
	}

	// A write through A is served by B within a second.
	if err := setKernel(t.Context(), a, "/assets/v2/vmlinuz"); err != nil {
		t.Fatal(err)
	}
	d := waitKernel(t, b, testMAC(1), "/assets/v2/vmlinuz", time.Second)
	t.Logf("a catalog write on A served by B after %v", d)
	// And B's lease table followed A's leases without a reload.
	for i := 0; i < 500; i += 2 {
		if _, ok := b.table.Lookup("lan", testMAC(i)); !ok {
			t.Fatalf("B's lease table lacks %s, allocated on A", testMAC(i))
		}
	}

	// Stop the leader during allocations: they go on. Eight workers boot
	// 200 new machines, paced so that the stop falls in the middle.
	var done atomic.Int64
	leader := c.leader()
	var wg sync.WaitGroup
	var mu sync.Mutex
	during := map[string]string{}
	retries := 0
	for w := range 8 {
		wg.Go(func() {
			for i := 500 + w; i < 700; i += 8 {
				r := []*replica{a, b}[i%2]
				var code int
				var ip, body string
				for try := range 10 {
					if code, ip, body = r.boot(testMAC(i)); code == http.StatusOK {
						break
					}
					mu.Lock()
					retries++
					mu.Unlock()
					time.Sleep(time.Duration(try+1) * 100 * time.Millisecond)
				}
				mu.Lock()
				if code != http.StatusOK {
					t.Errorf("%s %s with one member down: %d %q", r.name, testMAC(i), code, body)
				}
				during[testMAC(i)] = ip
				mu.Unlock()
				done.Add(1)
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
	for done.Load() < 40 {
		time.Sleep(time.Millisecond)
	}
	before := done.Load()
	start = time.Now()
	c.stop(leader)
	t.Logf("stopped member %d (the leader) in %v, after %d of 200 allocations; %d more while it stopped", leader, time.Since(start), before, done.Load()-before)
	stopped := done.Load()
	wg.Wait()
	t.Logf("%d allocations after the leader was gone; %d boots answered 503 and were retried", 200-stopped, retries)
	if stopped == 200 {
		t.Error("every allocation finished before the member was stopped")
	}
	// A request in flight to the stopped member is retried on another
	// inside provisiond; an iPXE-style retry should hardly ever be needed.
	if retries > 10 {
		t.Errorf("%d boots answered 503 with one member of three down", retries)
	}
	all := map[string]string{}
	for m, ip := range first {
		all[m] = ip
	}
	for m, ip := range during {
		all[m] = ip
	}
	distinct(t, all)

	// Stop a second member: no quorum. Machines with a lease are served
	// from memory; new leases and catalog writes fail with 503, quickly.
	second := (leader + 1) % 3
	start = time.Now()
	c.stop(second)
	t.Logf("stopped member %d in %v", second, time.Since(start))
	for _, r := range []*replica{a, b} {
		start := time.Now()
		code, _, body := r.boot(testMAC(1000))
		took := time.Since(start)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "unavailable") {
			t.Errorf("%s: a new machine without quorum: %d %q, want 503 saying the store is unavailable", r.name, code, body)
		}
		t.Logf("%s: new lease without quorum: %d %q in %v", r.name, code, strings.TrimSpace(body), took)
		if took > 5*time.Second {
			t.Errorf("%s: the 503 took %v", r.name, took)
		}
		for _, i := range []int{0, 1, 2, 3, 501, 502} {
			code, ip, body := r.boot(testMAC(i))
			if code != http.StatusOK || ip != all[testMAC(i)] {
				t.Errorf("%s: %s without quorum: %d %s %q, want 200 with %s", r.name, testMAC(i), code, ip, body, all[testMAC(i)])
			}
		}
	}
	err = setKernel(t.Context(), a, "/assets/v3/vmlinuz")
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("a catalog write without quorum: %v, want storage.ErrUnavailable", err)
	}
	t.Logf("catalog write without quorum: %v", err)

	// Restart both: allocations resume, without restarting the replicas,
	// and the replicas follow each other again.
	start = time.Now()
	c.restart(leader, second)
	t.Logf("quorum back after %v", time.Since(start))
	for _, r := range []*replica{a, b} {
		start := time.Now()
		for {
			code, ip, body := r.boot(testMAC(1000 + map[string]int{"A": 0, "B": 1}[r.name]))
			if code == http.StatusOK {
				t.Logf("%s: allocations resumed %v after the restart: %s", r.name, time.Since(start), ip)
				break
			}
			if time.Since(start) > 20*time.Second {
				t.Fatalf("%s: still %d %q 20s after quorum returned", r.name, code, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if err := setKernel(t.Context(), b, "/assets/v4/vmlinuz"); err != nil {
		t.Fatalf("a catalog write after quorum returned: %v", err)
	}
	d = waitKernel(t, a, testMAC(1), "/assets/v4/vmlinuz", 5*time.Second)
	t.Logf("after the outage, a write on B served by A after %v", d)
	ls, err := b.store.Leases(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	final := map[string]string{}
	for _, l := range ls {
		final[l.MAC] = l.Address.String()
	}
	for m, ip := range all {
		if final[m] != ip {
			t.Errorf("%s: stored %s, was answered %s", m, final[m], ip)
		}
	}
	distinct(t, final)
}
