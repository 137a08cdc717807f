package etcd_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
	"github.com/provisiond/provisiond/storage"
)

// errPrecondition is what an If-Match that does not match the stored
// version answers (412 in the admin API).
var errPrecondition = errors.New("If-Match does not match the stored version")

// etagOf is an object's version as the admin API computes it: a digest of
// its JSON.
func etagOf(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

// putKernelIfMatch changes profile "node"'s kernel through r's Catalogs as
// the admin API's PUT with If-Match does: the ETag is checked inside the
// function given to Update, on the catalog it is given. before, when not
// nil, runs at the start of every call of that function, with its number.
func putKernelIfMatch(ctx context.Context, r *replica, etag, kernel string, before func(call int)) error {
	call := 0
	_, _, err := r.catalogs.Update(ctx, func(c *catalog.Catalog) error {
		call++
		if before != nil {
			before(call)
		}
		cur, ok := c.Profiles["node"]
		if !ok || etagOf(cur) != etag {
			return errPrecondition
		}
		p := *cur
		p.Boot.Kernel = kernel
		c.Profiles["node"] = &p
		return nil
	})
	return err
}

// putProfile creates profile id through r's Catalogs, as an admin PUT
// without preconditions does.
func putProfile(ctx context.Context, r *replica, id string, before func(call int)) error {
	call := 0
	_, _, err := r.catalogs.Update(ctx, func(c *catalog.Catalog) error {
		call++
		if before != nil {
			before(call)
		}
		c.Profiles[id] = &profiles.Profile{ID: id, Boot: profiles.Boot{Kernel: "/assets/" + id}}
		return nil
	})
	return err
}

// putProfileOn creates profile id through cs.
func putProfileOn(ctx context.Context, cs *storage.Catalogs, id string) error {
	_, _, err := cs.Update(ctx, func(c *catalog.Catalog) error {
		c.Profiles[id] = &profiles.Profile{ID: id, Boot: profiles.Boot{Kernel: "/assets/" + id}}
		return nil
	})
	return err
}

func testingSleep() { time.Sleep(time.Millisecond) }

// register registers a machine with a pinned address in pool lan, as an
// admin PUT of machines/<name> does.
func register(ctx context.Context, r *replica, name, mac, address string, before func(call int)) error {
	m, err := catalog.DecodeMachine([]byte(fmt.Sprintf(`{"name":%q,"mac":%q,"leases":{"lan":%q}}`, name, mac, address)))
	if err != nil {
		return err
	}
	call := 0
	_, _, err = r.catalogs.Update(ctx, func(c *catalog.Catalog) error {
		call++
		if before != nil {
			before(call)
		}
		c.Machines[name] = m
		return nil
	})
	return err
}

// storedCatalog reads the catalog as the store holds it.
func storedCatalog(t *testing.T, r *replica) *catalog.Catalog {
	t.Helper()
	c, err := r.store.LoadCatalog(t.Context())
	if err != nil {
		t.Fatalf("LoadCatalog: %v", err)
	}
	return c
}

// waitServed waits until r's served snapshot satisfies ok.
func waitServed(t *testing.T, r *replica, what string, ok func(*catalog.Catalog) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if s := r.catalogs.Current(); s != nil && ok(s.Catalog) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not serve %s 20s after the write", r.name, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// afterFirst returns a before function that, on the first call only,
// waits for gate: the write is then computed from a catalog that another
// replica changes before it lands.
// The returned hook closes read when the first computation has read the
// stored catalog, so that the other replica's write can be made to land
// between B's read and B's write.
func afterFirst(read chan<- struct{}, gate <-chan struct{}) func(int) {
	return func(call int) {
		if call == 1 {
			close(read)
			<-gate
		}
	}
}

// TestLostUpdates runs two replicas on one three-member cluster and makes
// their catalog writes race, each race on a prefix of its own: nothing a
// replica acknowledged may be undone by the other, and an If-Match refers
// to the stored version.
func TestLostUpdates(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	pair := func(t *testing.T) (a, b *replica) {
		prefix := fmt.Sprintf("/lost/%d/", prefixes.Add(1))
		a = newReplica(t, "A", c, prefix, writeCatalog(t))
		b = newReplica(t, "B", c, prefix, "")
		return a, b
	}

	t.Run("SameETag/Interleaved", func(t *testing.T) {
		a, b := pair(t)
		etag := etagOf(a.catalogs.Current().Catalog.Profiles["node"])
		read, gate := make(chan struct{}), make(chan struct{})
		bErr := make(chan error, 1)
		bCalls := 0
		go func() {
			bErr <- putKernelIfMatch(t.Context(), b, etag, "/assets/b", func(call int) {
				bCalls = call
				if call == 1 {
					close(read)
					<-gate
				}
			})
		}()
		// B has read the stored catalog and checked the ETag on it; A
		// writes with the same ETag before B's write lands. (Without the
		// wait, on a busy machine A could write before B read at all.)
		<-read
		if err := putKernelIfMatch(t.Context(), a, etag, "/assets/a", nil); err != nil {
			t.Fatalf("A's write: %v", err)
		}
		close(gate)
		if err := <-bErr; !errors.Is(err, errPrecondition) {
			t.Fatalf("B's write with the ETag A's write replaced: %v, want the precondition to fail", err)
		}
		if bCalls < 2 {
			t.Errorf("B's change was computed %d times, want it computed again on the stored catalog", bCalls)
		}
		if k := storedCatalog(t, a).Profiles["node"].Boot.Kernel; k != "/assets/a" {
			t.Errorf("stored kernel %s, want A's /assets/a", k)
		}
	})

	t.Run("SameETag/Concurrent", func(t *testing.T) {
		a, b := pair(t)
		for trial := range 6 {
			etag := etagOf(storedCatalog(t, a).Profiles["node"])
			start := make(chan struct{})
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, r := range []*replica{a, b} {
				wg.Go(func() {
					<-start
					errs[i] = putKernelIfMatch(t.Context(), r, etag, fmt.Sprintf("/assets/%d-%s", trial, r.name), nil)
				})
			}
			close(start)
			wg.Wait()
			winner := ""
			for i, err := range errs {
				switch {
				case err == nil && winner != "":
					t.Fatalf("trial %d: both writes with ETag %s succeeded", trial, etag)
				case err == nil:
					winner = []string{"A", "B"}[i]
				case !errors.Is(err, errPrecondition):
					t.Fatalf("trial %d: replica %d: %v, want success or a failed precondition", trial, i, err)
				}
			}
			if winner == "" {
				t.Fatalf("trial %d: neither write succeeded", trial)
			}
			if k := storedCatalog(t, a).Profiles["node"].Boot.Kernel; k != fmt.Sprintf("/assets/%d-%s", trial, winner) {
				t.Fatalf("trial %d: stored kernel %s, want the winner %s's", trial, k, winner)
			}
		}
	})

	t.Run("DifferentObjects/Interleaved", func(t *testing.T) {
		a, b := pair(t)
		read, gate := make(chan struct{}), make(chan struct{})
		bErr := make(chan error, 1)
		go func() { bErr <- putProfile(t.Context(), b, "extra", afterFirst(read, gate)) }()
		<-read
		etag := etagOf(a.catalogs.Current().Catalog.Profiles["node"])
		if err := putKernelIfMatch(t.Context(), a, etag, "/assets/a", nil); err != nil {
			t.Fatalf("A's write: %v", err)
		}
		close(gate)
		if err := <-bErr; err != nil {
			t.Fatalf("B's write: %v", err)
		}
		both := func(c *catalog.Catalog) bool {
			return c.Profiles["extra"] != nil && c.Profiles["node"].Boot.Kernel == "/assets/a"
		}
		if st := storedCatalog(t, a); !both(st) {
			t.Fatalf("stored catalog lost a write: extra %v, node kernel %s", st.Profiles["extra"] != nil, st.Profiles["node"].Boot.Kernel)
		}
		waitServed(t, a, "both writes", both)
		waitServed(t, b, "both writes", both)
	})

	t.Run("DifferentObjects/Apart", func(t *testing.T) {
		a, b := pair(t)
		for _, gap := range []time.Duration{0, 5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond} {
			kernel, extra := "/assets/"+gap.String(), "extra-"+gap.String()
			var wg sync.WaitGroup
			var aErr, bErr error
			wg.Go(func() {
				etag := etagOf(a.catalogs.Current().Catalog.Profiles["node"])
				aErr = putKernelIfMatch(t.Context(), a, etag, kernel, nil)
			})
			wg.Go(func() {
				time.Sleep(gap)
				bErr = putProfile(t.Context(), b, extra, nil)
			})
			wg.Wait()
			if bErr != nil {
				t.Fatalf("gap %v: B's write: %v", gap, bErr)
			}
			if errors.Is(aErr, errPrecondition) {
				// A's served copy was older than B's previous write:
				// its If-Match refers to the stored version, as it must.
				// Write again without the race.
				aErr = putKernelIfMatch(t.Context(), a, etagOf(storedCatalog(t, a).Profiles["node"]), kernel, nil)
			}
			if aErr != nil {
				t.Fatalf("gap %v: A's write: %v", gap, aErr)
			}
			st := storedCatalog(t, a)
			if st.Profiles[extra] == nil || st.Profiles["node"].Boot.Kernel != kernel {
				t.Fatalf("gap %v: stored catalog lost a write: %s present %v, node kernel %s (want %s)",
					gap, extra, st.Profiles[extra] != nil, st.Profiles["node"].Boot.Kernel, kernel)
			}
		}
		// Every earlier write survived the later ones too.
		st := storedCatalog(t, a)
		for _, gap := range []time.Duration{0, 5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond} {
			if st.Profiles["extra-"+gap.String()] == nil {
				t.Errorf("profile extra-%v was undone by a later write", gap)
			}
		}
	})

	// A registration with a pinned address lands while the other replica
	// computes a write from a catalog without it: the registration, its
	// machine and its pinned lease survive.
	t.Run("RegistrationDuringWrite", func(t *testing.T) {
		a, b := pair(t)
		const mac, address = "02:42:aa:00:00:01", "10.8.3.200"
		read, gate := make(chan struct{}), make(chan struct{})
		aErr := make(chan error, 1)
		go func() { aErr <- putProfile(t.Context(), a, "extra", afterFirst(read, gate)) }()
		<-read
		if err := register(t.Context(), b, "reg-1", mac, address, nil); err != nil {
			t.Fatalf("registration on B: %v", err)
		}
		close(gate)
		if err := <-aErr; err != nil {
			t.Fatalf("A's write: %v", err)
		}
		st := storedCatalog(t, a)
		if st.Machines["reg-1"] == nil || st.Profiles["extra"] == nil {
			t.Fatalf("stored catalog lost a write: machine reg-1 %v, profile extra %v", st.Machines["reg-1"] != nil, st.Profiles["extra"] != nil)
		}
		want := ipam.Lease{Pool: "lan", Address: netip.MustParseAddr(address), MAC: mac, Pinned: true}
		ls, err := a.store.Leases(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, l := range ls {
			if l.MAC == mac {
				l.Created = 0
				found = l == want
				if !found {
					t.Errorf("stored lease %+v, want %+v", l, want)
				}
			}
		}
		if !found {
			t.Fatalf("the registered machine's pinned lease is gone from the store")
		}
		for _, r := range []*replica{a, b} {
			waitServed(t, r, "the registration", func(c *catalog.Catalog) bool { return c.Machines["reg-1"] != nil && c.Profiles["extra"] != nil })
			if l, ok := r.table.Lookup("lan", mac); !ok || l.Address != want.Address || !l.Pinned {
				t.Errorf("%s's lease table: %+v %v, want the pinned %s", r.name, l, ok, address)
			}
		}
	})

	// Both orders at once, many times: registrations on B and profile
	// writes on A, 0 to 50 ms apart.
	t.Run("RegistrationsApart", func(t *testing.T) {
		a, b := pair(t)
		for i := range 6 {
			gap := time.Duration(i*10) * time.Millisecond
			mac := fmt.Sprintf("02:42:bb:00:00:%02x", i)
			address := fmt.Sprintf("10.8.3.%d", 210+i)
			var wg sync.WaitGroup
			var aErr, bErr error
			wg.Go(func() { aErr = putProfile(t.Context(), a, fmt.Sprintf("p%d", i), nil) })
			wg.Go(func() {
				time.Sleep(gap)
				bErr = register(t.Context(), b, fmt.Sprintf("reg-%d", i), mac, address, nil)
			})
			wg.Wait()
			if aErr != nil || bErr != nil {
				t.Fatalf("round %d: A %v, B %v", i, aErr, bErr)
			}
		}
		st := storedCatalog(t, a)
		ls, err := a.store.Leases(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		pinned := map[string]string{}
		for _, l := range ls {
			if l.Pinned {
				pinned[l.MAC] = l.Address.String()
			}
		}
		for i := range 6 {
			if st.Profiles[fmt.Sprintf("p%d", i)] == nil {
				t.Errorf("profile p%d was undone", i)
			}
			if st.Machines[fmt.Sprintf("reg-%d", i)] == nil {
				t.Errorf("machine reg-%d was undone", i)
			}
			if got, want := pinned[fmt.Sprintf("02:42:bb:00:00:%02x", i)], fmt.Sprintf("10.8.3.%d", 210+i); got != want {
				t.Errorf("reg-%d's pinned lease: %q, want %s", i, got, want)
			}
		}
	})

	// A machine that boots from both replicas keeps the events each saw.
	t.Run("InventoryTwoReplicas", func(t *testing.T) {
		a, b := pair(t)
		ra := inventory.NewRecorder(a.store, nil, nil)
		rb := inventory.NewRecorder(b.store, nil, nil)
		const mac = "02:42:cc:00:00:01"
		t0 := time.Now().Truncate(time.Second)
		steps := []struct {
			r        *inventory.Recorder
			endpoint string
		}{{ra, "/ipxe"}, {rb, "/ipxe"}, {ra, "/ignition"}, {rb, "/metadata"}}
		for i, s := range steps {
			s.r.Record(mac, "", inventory.Event{Time: t0.Add(time.Duration(i) * time.Second), Endpoint: s.endpoint, Group: "nodes", Profile: "node", Status: 200})
			if err := s.r.Flush(t.Context()); err != nil {
				t.Fatalf("flush %d: %v", i, err)
			}
		}
		ms, err := a.store.Machines(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 {
			t.Fatalf("%d inventory records, want 1", len(ms))
		}
		m := ms[0]
		var got []string
		for _, e := range m.Events {
			got = append(got, e.Endpoint)
		}
		if fmt.Sprint(got) != "[/ipxe /ipxe /ignition /metadata]" {
			t.Errorf("stored events %v, want the four of both replicas in order", got)
		}
		if !m.FirstSeen.Equal(t0) || !m.LastSeen.Equal(t0.Add(3*time.Second)) || m.LastEndpoint != "/metadata" || m.State != inventory.Configured {
			t.Errorf("stored record: first %v last %v endpoint %s state %s; want %v, %v, /metadata, configured",
				m.FirstSeen, m.LastSeen, m.LastEndpoint, m.State, t0, t0.Add(3*time.Second))
		}
	})
}
