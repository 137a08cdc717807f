package ipam

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
)

func lease(pool, a, mac string) Lease {
	return Lease{Pool: pool, Address: netip.MustParseAddr(a), MAC: mac, Created: 1700000000}
}

func sortLeases(ls []Lease) []Lease {
	slices.SortFunc(ls, func(a, b Lease) int {
		return cmp.Or(cmp.Compare(a.Pool, b.Pool), cmp.Compare(a.MAC, b.MAC))
	})
	return ls
}

func TestTable(t *testing.T) {
	a := lease("lan", "10.0.0.100", "52:54:00:00:00:01")
	b := lease("lan", "10.0.0.101", "52:54:00:00:00:02")
	c := lease("v6", "fd00:1::100", "52:54:00:00:00:01") // same mac, other pool
	tab := NewTable([]Lease{a, b, c})

	gen := tab.Generation()
	changed := func(what string) {
		t.Helper()
		g := tab.Generation()
		if g == gen {
			t.Errorf("%s: Generation stayed at %d", what, g)
		}
		gen = g
	}
	unchanged := func(what string) {
		t.Helper()
		if g := tab.Generation(); g != gen {
			t.Errorf("%s: Generation moved from %d to %d on a read", what, gen, g)
		}
	}
	wantLookup := func(pool, mac string, want Lease, wantOK bool) {
		t.Helper()
		got, ok := tab.Lookup(pool, mac)
		if ok != wantOK || got != want {
			t.Errorf("Lookup(%s, %s) = %+v, %v; want %+v, %v", pool, mac, got, ok, want, wantOK)
		}
	}

	wantLookup("lan", a.MAC, a, true)
	wantLookup("lan", b.MAC, b, true)
	wantLookup("v6", c.MAC, c, true)
	wantLookup("v6", b.MAC, Lease{}, false)
	wantLookup("nope", a.MAC, Lease{}, false)
	if tab.Count("lan") != 2 || tab.Count("v6") != 1 || tab.Count("nope") != 0 {
		t.Errorf("Count = %d %d %d, want 2 1 0", tab.Count("lan"), tab.Count("v6"), tab.Count("nope"))
	}
	if got := sortLeases(tab.All()); !slices.Equal(got, sortLeases([]Lease{a, b, c})) {
		t.Errorf("All = %v", got)
	}
	unchanged("reads")

	d := lease("lan", "10.0.0.102", "52:54:00:00:00:03")
	tab.Put(d)
	changed("Put new")
	wantLookup("lan", d.MAC, d, true)
	if tab.Count("lan") != 3 {
		t.Errorf("Count(lan) = %d after Put, want 3", tab.Count("lan"))
	}

	d2 := d
	d2.Address, d2.Pinned = netip.MustParseAddr("10.0.0.150"), true
	tab.Put(d2)
	changed("Put replacing")
	wantLookup("lan", d.MAC, d2, true)
	if tab.Count("lan") != 3 {
		t.Errorf("Count(lan) = %d after replacing Put, want 3", tab.Count("lan"))
	}

	e := lease("new-pool", "192.168.0.10", "52:54:00:00:00:04")
	tab.Put(e)
	changed("Put in a new pool")
	wantLookup("new-pool", e.MAC, e, true)

	tab.Delete("lan", a.MAC)
	changed("Delete")
	wantLookup("lan", a.MAC, Lease{}, false)
	wantLookup("v6", c.MAC, c, true) // same mac in another pool stays
	if tab.Count("lan") != 2 {
		t.Errorf("Count(lan) = %d after Delete, want 2", tab.Count("lan"))
	}
	tab.Delete("nope", a.MAC) // unknown pool: no panic

	tab.Replace([]Lease{a})
	changed("Replace")
	wantLookup("lan", a.MAC, a, true)
	wantLookup("lan", b.MAC, Lease{}, false)
	wantLookup("v6", c.MAC, Lease{}, false)
	if got := tab.All(); !slices.Equal(got, []Lease{a}) {
		t.Errorf("All after Replace = %v, want [%v]", got, a)
	}

	tab.Replace(nil)
	changed("Replace with nothing")
	if got := tab.All(); len(got) != 0 || tab.Count("lan") != 0 {
		t.Errorf("All after Replace(nil) = %v", got)
	}
	unchanged("reads")
}

func TestNewTableEmpty(t *testing.T) {
	tab := NewTable(nil)
	if len(tab.All()) != 0 || tab.Count("lan") != 0 {
		t.Fatal("empty table is not empty")
	}
	if _, ok := tab.Lookup("lan", "52:54:00:00:00:01"); ok {
		t.Fatal("Lookup found a lease in an empty table")
	}
	tab.Put(lease("lan", "10.0.0.1", "52:54:00:00:00:01"))
	if tab.Count("lan") != 1 {
		t.Fatal("Put into an empty table lost the lease")
	}
}

// TestTableConcurrent is meant for -race: writers Put, Delete and Replace
// while readers Lookup, Count, All and Generation.
func TestTableConcurrent(t *testing.T) {
	const writers, readers, perWriter = 8, 8, 200
	tab := NewTable(nil)
	mac := func(w, i int) string { return fmt.Sprintf("52:54:00:%02x:%02x:%02x", w, i>>8, i&0xff) }

	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := tab.Generation()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if l, ok := tab.Lookup(fmt.Sprint("pool", i%writers), mac(i%writers, i%perWriter)); ok && l.MAC == "" {
					t.Error("Lookup returned a lease without a mac")
					return
				}
				_ = tab.Count(fmt.Sprint("pool", r%writers))
				if i%50 == 0 {
					_ = tab.All()
				}
				if g := tab.Generation(); g < last {
					t.Errorf("Generation went back from %d to %d", last, g)
					return
				} else {
					last = g
				}
			}
		}()
	}
	var wwg sync.WaitGroup
	for w := range writers {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			pool := fmt.Sprint("pool", w)
			for i := range perWriter {
				a := netip.AddrFrom4([4]byte{10, byte(w), byte(i >> 8), byte(i)})
				tab.Put(Lease{Pool: pool, Address: a, MAC: mac(w, i)})
				if i%10 == 9 {
					tab.Delete(pool, mac(w, i)) // every tenth is released
				}
			}
		}()
	}
	// A reload racing with the writers: its content may be overwritten by
	// later Puts, but it must not corrupt anything.
	wwg.Add(1)
	go func() {
		defer wwg.Done()
		tab.Replace([]Lease{lease("reload", "10.255.0.1", "52:54:00:ff:ff:ff")})
	}()
	wwg.Wait()
	close(stop)
	wg.Wait()

	// Replace may have dropped some writes made before it; what it cannot do
	// is leave a deleted lease or a lease in the wrong pool.
	for w := range writers {
		pool := fmt.Sprint("pool", w)
		for i := range perWriter {
			l, ok := tab.Lookup(pool, mac(w, i))
			if i%10 == 9 && ok {
				t.Errorf("%s %s: deleted lease still present", pool, mac(w, i))
			}
			if ok && (l.Pool != pool || l.MAC != mac(w, i)) {
				t.Errorf("%s %s: got %+v", pool, mac(w, i), l)
			}
		}
		if n := tab.Count(pool); n > perWriter-perWriter/10 {
			t.Errorf("Count(%s) = %d, more than %d", pool, n, perWriter-perWriter/10)
		}
	}
	if want := uint64(writers*(perWriter+perWriter/10) + 1); tab.Generation() != want {
		t.Errorf("Generation = %d after %d changes", tab.Generation(), want)
	}
}

// TestTableConcurrentNoReplace checks that, without a reload, every write
// lands.
func TestTableConcurrentNoReplace(t *testing.T) {
	const writers, perWriter = 16, 100
	tab := NewTable(nil)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				tab.Put(Lease{Pool: "shared", Address: netip.AddrFrom4([4]byte{10, 0, byte(w), byte(i)}), MAC: fmt.Sprintf("m-%d-%d", w, i)})
			}
		}()
		go func() {
			defer wg.Done()
			for i := range perWriter {
				tab.Lookup("shared", fmt.Sprintf("m-%d-%d", w, i))
				tab.Count("shared")
			}
		}()
	}
	wg.Wait()
	if n := tab.Count("shared"); n != writers*perWriter {
		t.Fatalf("Count = %d, want %d", n, writers*perWriter)
	}
	if n := len(tab.All()); n != writers*perWriter {
		t.Fatalf("len(All) = %d, want %d", n, writers*perWriter)
	}
}
