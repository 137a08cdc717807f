package inventory

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"
)

// edgeTimes are times a record must give back exactly (==: wall clock,
// monotonic reading and location): those a stamp holds and those it
// cannot.
func edgeTimes() map[string]time.Time {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 123456789, time.UTC)
	return map[string]time.Time{
		"zero":                     {},
		"zero in a location":       time.Time{}.In(paris),
		"utc":                      t0,
		"utc, whole second":        time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC),
		"unix epoch":               time.Unix(0, 0).UTC(),
		"just before the epoch":    time.Unix(0, -1).UTC(),
		"local":                    t0.Local(),
		"fixed zone":               t0.In(time.FixedZone("X", -7*3600)),
		"fixed zone named UTC":     t0.In(time.FixedZone("UTC", 0)),
		"paris":                    t0.In(paris),
		"monotonic":                time.Now(),
		"monotonic utc":            time.Now().Add(time.Hour),
		"year 1":                   time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		"year 1677":                time.Date(1677, 1, 1, 0, 0, 0, 0, time.UTC),
		"first stamp":              time.Unix(0, math.MinInt64+2).UTC(),
		"the stamp of zero":        time.Unix(0, math.MinInt64).UTC(),
		"the stamp of wide":        time.Unix(0, math.MinInt64+1).UTC(),
		"last stamp":               time.Unix(0, math.MaxInt64).UTC(),
		"just after the last":      time.Unix(0, math.MaxInt64).UTC().Add(1),
		"year 2263":                time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC),
		"year 9999":                time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		"year -1000":               time.Date(-1000, 1, 1, 0, 0, 0, 0, time.UTC),
		"utc via LoadLocation":     t0.In(mustLoad("UTC")),
		"local time of the zero's": time.Date(1, 1, 1, 0, 0, 0, 0, time.Local),
	}
}

func mustLoad(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// TestStamp: a time goes through a stamp and back exactly, or is not
// taken by one (and kept whole).
func TestStamp(t *testing.T) {
	for name, tm := range edgeTimes() {
		s, ok := stampOf(tm)
		if ok && s.time() != tm {
			t.Errorf("%s: %v as a stamp is %v", name, tm, s.time())
		}
		if !ok && s != wideStamp {
			t.Errorf("%s: not a stamp, and not wideStamp either", name)
		}
		ns := tm.UnixNano()
		wantStamp := tm == time.Time{} || (tm.Location() == time.UTC && tm == tm.Round(0) && tm.Equal(time.Unix(0, ns)) &&
			ns != math.MinInt64 && ns != math.MinInt64+1)
		if ok != wantStamp {
			t.Errorf("%s: %v a stamp: %v, want %v", name, tm, ok, wantStamp)
		}
	}
}

// TestRecordKeepsEdgeTimes: a machine's first and last seen, its events'
// times and Last (before, at and after Time), and its changes' times,
// of every edge time, come out of Get, List, Apply and a flush exactly as
// the reference (Machine.apply) has them, and so do stored machines'.
func TestRecordKeepsEdgeTimes(t *testing.T) {
	times := edgeTimes()
	names := make([]string, 0, len(times))
	for name := range times {
		names = append(names, name)
	}
	for _, name := range names {
		tm := times[name]
		t.Run(name, func(t *testing.T) {
			mac := "52:54:00:00:00:01"
			// An event keeps Last as its distance from Time (its monotonic
			// reading and location are Time's), as the recorder always
			// has: last is what comes back.
			last := func(d time.Duration) time.Time { return tm.Round(0).Add(d) }
			stored := Machine{Key: mac, MAC: mac, FirstSeen: tm, LastSeen: tm, LastEndpoint: "/ipxe", Group: "g", Profile: "p", State: Booting,
				Events: []Event{
					{Time: tm, Endpoint: "/ipxe", Group: "g", Profile: "p", Status: 200, State: Booting, Remote: "10.0.0.1:1"},
					{Time: tm, Endpoint: "/ipxe", Group: "g", Profile: "p", Status: 200, Repeats: 2, Last: last(time.Minute)},
					{Time: tm, Endpoint: "/ipxe", Group: "g", Profile: "p", Status: 200, Repeats: 1, Last: last(-time.Second)}, // Last before Time
					{Time: tm, Endpoint: "/ipxe", Status: 200, Repeats: 1, Last: last(0)},
				},
				Changes: []Change{{Time: tm, To: Booting, Cause: "/ipxe"}}}
			s := &saver{}
			r := NewRecorder(s, []Machine{stored}, nil)
			ref := stored
			ref.Events = append([]Event(nil), stored.Events...)
			ref.Changes = append([]Change(nil), stored.Changes...)
			check := func(when string, got Machine) {
				t.Helper()
				want := ref
				want.Events = append([]Event(nil), ref.Events...)
				for i := range want.Events {
					// the recorder keeps Last as a distance from Time
					if e := &want.Events[i]; !e.Last.IsZero() {
						e.Last = e.Time.Round(0).Add(e.Last.Round(0).Sub(e.Time.Round(0)))
					}
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s:\n got %+v\nwant %+v", when, got, want)
				}
			}
			got, _ := r.Get(mac)
			if last(0).IsZero() {
				ref.Events[3].Last = time.Time{} // no Last at all
			}
			check("loaded", got)
			if tm.Year() < 1 {
				// Before year 1 a zero Last is After Time: Machine.fold
				// takes it for last seen, the recorder's repeat does not
				// (a clock gives no such times).
				return
			}
			// events of the edge time: a sighting, an operator's command
			// (a change), a repeat of it
			for i, e := range []Event{
				{Time: tm, Endpoint: "/ignition", Group: "g", Profile: "p", Status: 200, Remote: "[fd00::1]:5"},
				{Time: tm, Endpoint: EndpointOperator, State: Failed, Cause: "why"},
				{Time: tm, Endpoint: "/ipxe", Group: "h", Profile: "p", Status: 200, Remote: "10.0.0.2:7"},
				{Time: tm.Add(time.Second), Endpoint: "/ipxe", Group: "h", Profile: "p", Status: 200, Remote: "10.0.0.2:8"},
				{Time: tm.Add(2 * time.Second), Endpoint: "/ipxe", Group: "h", Profile: "p", Status: 200, Remote: "10.0.0.2:9"},
			} {
				wantErr := ref.apply(mac, "", e)
				if i == 1 {
					got, err := r.Apply(mac, "", e)
					if (err == nil) != (wantErr == nil) {
						t.Fatalf("Apply error %v, reference %v", err, wantErr)
					}
					check("Apply", got)
				} else {
					r.Record(mac, "", e)
				}
				got, _ := r.Get(mac)
				check(fmt.Sprint("Get after event ", i), got)
			}
			if err := r.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			check("flushed", s.last()[mac])
			check("List", r.List()[0])
		})
	}
}

// TestParseRemote4: an address parseRemote4 takes is written back byte
// for byte by appendRemote4; every IPv4 address and port is taken.
func TestParseRemote4(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"10.0.0.1:4000", true}, {"0.0.0.0:0", true}, {"255.255.255.255:65535", true}, {"127.1.0.44:37947", true},
		{"", false}, {"h:1", false}, {"10.0.0.1", false}, {"10.0.0.1:", false}, {":1", false},
		{"010.0.0.1:1", false}, {"10.0.0.01:1", false}, {"10.0.0.1:01", false}, {"10.0.0.1:00", false},
		{"256.0.0.1:1", false}, {"10.0.0.1:65536", false}, {"10.0.0.1:99999", false}, {"10.0.0.1:123456", false},
		{"10.0.0:1", false}, {"10.0.0.1.2:1", false}, {"10.0.0.1:1:2", false}, {"10..0.1:1", false},
		{"[fd00::1]:4000", false}, {"fd00::1", false}, {"10.0.0.1:+1", false}, {"10.0.0.1:1 ", false}, {" 10.0.0.1:1", false},
		{"1000.0.0.1:1", false}, {"10.0.0.1:-1", false},
	} {
		ip, port, ok := parseRemote4(tc.addr)
		if ok != tc.ok {
			t.Errorf("%q: taken %v, want %v", tc.addr, ok, tc.ok)
		}
		if ok {
			if back := string(appendRemote4(nil, ip, port)); back != tc.addr {
				t.Errorf("%q written back as %q", tc.addr, back)
			}
		}
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		ip, port := rnd.Uint32(), uint16(rnd.UintN(65536))
		s := string(appendRemote4(nil, ip, port))
		if len(s) > maxRemote4 {
			t.Fatalf("%q longer than %d", s, maxRemote4)
		}
		if i, p, ok := parseRemote4(s); !ok || i != ip || p != port {
			t.Fatalf("%q read as %v %v %v, want %v %v", s, i, p, ok, ip, port)
		}
	}
}

// FuzzParseRemote4: whatever parseRemote4 takes, appendRemote4 writes
// back byte for byte; and an event keeps any address as it was given.
func FuzzParseRemote4(f *testing.F) {
	for _, s := range []string{"10.0.0.1:4000", "0.0.0.0:0", "255.255.255.255:65535", "[fd00::1]:1", "01.0.0.1:1", "h:1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		if ip, port, ok := parseRemote4(addr); ok {
			if back := string(appendRemote4(nil, ip, port)); back != addr {
				t.Fatalf("%q written back as %q", addr, back)
			}
		}
		var k event
		k.setRemote(addr)
		if got := k.remote(nil); got != addr {
			t.Fatalf("%q kept as %q", addr, got)
		}
		buf := []byte("x")
		if got := k.remote(&buf); got != addr {
			t.Fatalf("%q kept as %q (into a slab)", addr, got)
		}
		if !k.sameHost(addr) || k.sameHost(addr+"0") != sameHost(addr, addr+"0") {
			t.Fatalf("%q: sameHost differs from the strings'", addr)
		}
	})
}

// TestKeptLabelsManyDistinct: events and changes of many distinct
// endpoints, causes and statuses (more than the label cache's slots,
// from many goroutines at once) each come back as they went in, and
// equal labels are one handle.
func TestKeptLabelsManyDistinct(t *testing.T) {
	const n = 4 * labelSlots
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				j := (i*7 + g*13) % n
				e := Event{Time: time.Unix(int64(j), 0).UTC(), Endpoint: fmt.Sprint("/e", j%50), Status: 200 + j%7, Cause: fmt.Sprint("c", j),
					State: States[j%len(States)], LocalBoot: j%2 == 0}
				k := kept(&e, "", "")
				if got := k.Event("", "", nil); got != e {
					t.Errorf("%+v kept as %+v", e, got)
					return
				}
				k2 := kept(&e, "", "")
				if k2.lab != k.lab {
					t.Errorf("%+v: two handles of one label", e)
					return
				}
				c := Change{Time: e.Time, From: e.State, To: Installed, Cause: e.Cause}
				if kc := changeOf(&c); kc.Change() != c {
					t.Errorf("%+v kept as %+v", c, kc.Change())
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestRecordGroupChange: events kept while the machine was of one group
// and profile keep them after it moves to another (they are kept as the
// record's own until then).
func TestRecordGroupChange(t *testing.T) {
	s := &saver{}
	r := NewRecorder(s, nil, nil)
	mac := "52:54:00:00:00:01"
	ref := &Machine{Key: mac}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i, gp := range [][2]string{{"a", "p"}, {"a", "p"}, {"b", "p"}, {"b", "q"}, {"", ""}, {"a", "p"}, {"a", ""}} {
		e := Event{Time: t0.Add(time.Duration(i) * time.Hour), Endpoint: "/ipxe", Group: gp[0], Profile: gp[1], Status: 200, Remote: "10.0.0.1:1"}
		if gp[0] == "" {
			e.Status = 404
		}
		ref.apply(mac, "", e)
		r.Record(mac, "", e)
		got, _ := r.Get(mac)
		if !reflect.DeepEqual(got, *ref) {
			t.Fatalf("after event %d:\n got %+v\nwant %+v", i, got, *ref)
		}
	}
	if got, _ := r.Get(mac); got.Events[0].Group != "a" || got.Events[2].Group != "b" || got.Events[3].Profile != "q" || got.Group != "a" || got.Profile != "" {
		t.Fatalf("groups kept %+v", got)
	}
}

// TestRecordSharedHardware: machines of equal hardware share one copy,
// and a change of one machine's leaves the others' as they were.
func TestRecordSharedHardware(t *testing.T) {
	r := NewRecorder(&saver{}, nil, nil)
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		e := Event{Time: t0, Endpoint: "/ipxe", Group: "g", Status: 200, Hardware: Hardware{Arch: "x86_64", Platform: "efi"}}
		r.Record(fmt.Sprint("52:54:00:00:00:0", i), "", e)
	}
	r.mu.Lock()
	a, b := r.all["52:54:00:00:00:00"].m.Hardware, r.all["52:54:00:00:00:01"].m.Hardware
	r.mu.Unlock()
	if a != b {
		t.Errorf("equal hardware is two copies")
	}
	r.Record("52:54:00:00:00:00", "", Event{Time: t0.Add(time.Hour), Endpoint: "/ipxe", Group: "g", Status: 200,
		Hardware: Hardware{Arch: "arm64", Serial: "S1"}})
	m0, _ := r.Get("52:54:00:00:00:00")
	m1, _ := r.Get("52:54:00:00:00:01")
	if *m0.Hardware != (Hardware{Arch: "arm64", Platform: "efi", Serial: "S1"}) || *m1.Hardware != (Hardware{Arch: "x86_64", Platform: "efi"}) {
		t.Fatalf("hardware %+v and %+v", m0.Hardware, m1.Hardware)
	}
}

// TestWithinAndLastOfInNanoseconds: an event's window (within) and the
// distance it keeps of a repeat (lastOf), computed in nanoseconds for a
// stamp, are what the times give, at the edges of int64 too.
func TestWithinAndLastOfInNanoseconds(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	edges := []int64{math.MinInt64 + 2, math.MinInt64 + 3, -1, 0, 1, math.MaxInt64 - 1, math.MaxInt64, 1764547200e9}
	durs := []time.Duration{0, 1, -1, 2, RepeatWindow, RepeatWindow + 1, math.MaxInt64, math.MinInt64, math.MinInt64 + 1, math.MaxInt64 - 1}
	pick := func() int64 {
		if rnd.IntN(3) == 0 {
			return edges[rnd.IntN(len(edges))]
		}
		return edges[rnd.IntN(len(edges))] + rnd.Int64N(int64(2*RepeatWindow)) - int64(RepeatWindow)
	}
	inside, tried := 0, 0
	for range 200000 {
		at := time.Unix(0, pick()).UTC()
		s, ok := stampOf(at)
		if !ok {
			continue
		}
		k := event{at: s, repeats: int32(rnd.IntN(3)), last: durs[rnd.IntN(len(durs))]}
		if rnd.IntN(2) == 0 {
			k.last = time.Duration(rnd.Int64N(int64(3*RepeatWindow)) - int64(RepeatWindow))
		}
		var tm time.Time
		switch rnd.IntN(4) {
		case 0:
			tm = time.Unix(0, pick()).UTC()
		case 1:
			tm = at.Add(time.Duration(rnd.Int64N(int64(3*RepeatWindow)) - int64(RepeatWindow)))
		case 2:
			tm = at.Add(k.last).Add(time.Duration(rnd.Int64N(int64(2 * RepeatWindow))))
		default:
			tm = time.Date(rnd.IntN(20000)-5000, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		last := k.time()
		if k.repeats > 0 {
			last = k.lastTime()
		}
		d := tm.Round(0).Sub(last.Round(0))
		want := d >= 0 && d <= RepeatWindow
		if want {
			inside++
		}
		tried++
		if k.within(tm) != want {
			t.Fatalf("event at %v, repeats %d, last %d: within(%v) = %v, want %v", at, k.repeats, k.last, tm, !want, want)
		}
		if got, want := k.lastOf(tm), lastOf(k.time(), tm); got != want {
			t.Fatalf("event at %v: lastOf(%v) = %d, want %d", at, tm, got, want)
		}
	}
	if inside < 1000 || tried-inside < 1000 {
		t.Fatalf("%d of %d times within the window: the test does not exercise both", inside, tried)
	}
}
