package inventory

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestRecordToMatchesRecord feeds two recorders the same events, one
// through Record, the other through RecordHandle and then RecordTo (one
// handle per mac and uuid, kept as the boot server keeps it): machines by
// mac, by uuid, by both, stored before or never seen; every machine and
// every flushed batch is the same in both.
func TestRecordToMatchesRecord(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	type who struct{ mac, uuid string }
	names := []who{
		{"52:54:00:00:00:01", ""},
		{"52:54:00:00:00:02", ""},
		{"", "0b1c0f7e-7b6e-4b3c-9d1a-3f5e2a6c8d90"},
		{"52:54:00:00:00:03", "5e0e7d8a-1f2b-4c3d-8e9f-0a1b2c3d4e5f"},
		{"52:54:00:00:00:04", ""}, // stored before
	}
	stored := []Machine{{Key: "52:54:00:00:00:04", MAC: "52:54:00:00:00:04", State: Installed,
		Events: []Event{{Time: t0.Add(-time.Hour), Endpoint: "/ipxe", Status: 200}}}}
	sa, sb := &saver{}, &saver{}
	a := NewRecorder(sa, stored, nil)
	b := NewRecorder(sb, stored, nil)
	handles := map[who]*Handle{}
	for i := range 6 * MaxEvents {
		n := names[rnd.IntN(len(names))]
		eps := []string{"/ipxe", "/ignition", "/metadata", EndpointInstalled, "/ipxe"}
		e := Event{Time: t0.Add(time.Duration(i) * time.Second), Endpoint: eps[rnd.IntN(len(eps))],
			Status: []int{200, 200, 404}[rnd.IntN(3)], Group: "g", Profile: "p", Remote: fmt.Sprint("10.0.0.1:", i)}
		if i%3 == 0 {
			e.Hardware = Hardware{Serial: fmt.Sprint("S", i), Arch: "x86_64"}
		}
		a.Record(n.mac, n.uuid, e)
		if h := handles[n]; h != nil {
			b.RecordTo(h, e)
		} else if handles[n] = b.RecordHandle(n.mac, n.uuid, e); handles[n] == nil {
			t.Fatalf("no handle for %+v", n)
		}
		if got, want := b.List(), a.List(); !reflect.DeepEqual(got, want) {
			t.Fatalf("event %d of %+v:\n got %+v\nwant %+v", i, n, got, want)
		}
		if i%7 == 0 {
			if err := a.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := b.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !reflect.DeepEqual(sb.batches, sa.batches) || len(sa.batches) == 0 {
		t.Fatalf("flushed batches differ: %d and %d", len(sb.batches), len(sa.batches))
	}
}

// TestHandleEdges: no handle for an event that names no machine (and
// nothing recorded); a handle of another recorder is recorded by its mac;
// RecordTo of a known machine allocates nothing.
func TestHandleEdges(t *testing.T) {
	r := NewRecorder(&saver{}, nil, nil)
	if h := r.RecordHandle("", "", ev("/ipxe", 200, "g")); h != nil {
		t.Fatalf("a handle for no machine: %+v", h)
	}
	if n := len(r.List()); n != 0 {
		t.Fatalf("%d machines after an event of no machine", n)
	}
	other := NewRecorder(&saver{}, nil, nil)
	h := other.RecordHandle("52:54:00:00:00:01", "", ev("/ipxe", 200, "g"))
	r.RecordTo(h, ev("/metadata", 200, "g"))
	if m, ok := r.Get("52:54:00:00:00:01"); !ok || len(m.Events) != 1 || m.Events[0].Endpoint != "/metadata" {
		t.Fatalf("another recorder's handle: %+v", m)
	}
	if m, _ := other.Get("52:54:00:00:00:01"); len(m.Events) != 1 {
		t.Fatalf("the handle's recorder got %d events, want 1", len(m.Events))
	}
	e := ev("/ipxe", 200, "g")
	e.Hardware = Hardware{Serial: "S1", Arch: "x86_64"}
	h = r.RecordHandle("52:54:00:00:00:02", "", e)
	// /ipxe and /metadata in turn: each a new event (the ring's path)
	meta := e
	meta.Endpoint = "/metadata"
	i := 0
	next := func() Event {
		if i++; i%2 == 0 {
			return meta
		}
		return e
	}
	for range MaxEvents {
		r.RecordTo(h, next())
	}
	if n := testing.AllocsPerRun(1000, func() { r.RecordTo(h, next()) }); n != 0 {
		t.Fatalf("%v allocations per RecordTo", n)
	}
	if m, _ := r.Get("52:54:00:00:00:02"); len(m.Events) != MaxEvents || m.Events[MaxEvents-1].Repeats != 0 {
		t.Fatalf("events %+v", m.Events)
	}
	// a repeat (the fast path)
	if n := testing.AllocsPerRun(1000, func() { r.RecordTo(h, e) }); n != 0 {
		t.Fatalf("%v allocations per repeated RecordTo", n)
	}
}

// TestKeptEventHasEveryEventField: the event a record keeps holds every
// field of Event but Hardware (which a recorded event never holds): an
// Event with every field set (by reflection, so that a field added to
// Event and not kept fails here) goes in and out unchanged, and so do the
// events of the table, for a record of the same group and profile, of
// another, and of none.
func TestKeptEventHasEveryEventField(t *testing.T) {
	var full Event
	v := reflect.ValueOf(&full).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch name := v.Type().Field(i).Name; {
		case name == "Hardware":
		case name == "State":
			f.SetString(string(Installed))
		case f.Type() == reflect.TypeOf(time.Time{}):
			f.Set(reflect.ValueOf(time.Unix(1e9, int64(i)).UTC()))
		case f.Kind() == reflect.String:
			f.SetString("v" + name)
		case f.Kind() == reflect.Int:
			f.SetInt(int64(7 + i))
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		default:
			t.Fatalf("Event.%s (%s): no value to try", name, f.Type())
		}
	}
	full.Remote = "10.0.0.1:4000"
	t0 := time.Unix(1, 2).UTC()
	for _, e := range []Event{
		full,
		{Time: time.Unix(1, 2), Endpoint: "/ipxe", Group: "g", Profile: "p", Remote: "r",
			Status: 404, LocalBoot: true, State: Installed, Cause: "c"},
		{Time: t0, Endpoint: "/ipxe", Status: 200, Repeats: 7, Last: t0.Add(time.Minute)},
		{Time: t0, Endpoint: "/ipxe", Status: 200, Repeats: 1, Last: t0},                                       // the same nanosecond
		{Time: t0, Endpoint: "/ipxe", Status: 200, Repeats: 1, Last: t0.Add(-time.Nanosecond)},                 // never written, kept all the same
		{Time: t0, Endpoint: "/ipxe", Status: 200, Repeats: math.MaxInt32, Last: t0.Add(200 * 24 * time.Hour)}, // the most counted
		{Time: t0, Endpoint: "/ipxe", Status: 200, Last: t0.Add(time.Second)},
		{Time: t0, Endpoint: "/ipxe", Status: 200, Repeats: -3},
		{Time: t0, Endpoint: "/ipxe", Group: "g", Status: 200, Remote: "[fd00::1]:4000"},
		{Time: t0, Endpoint: "/ipxe", Profile: "p", Status: 200, Remote: "10.0.0.1"},
	} {
		for _, gp := range [][2]string{{"", ""}, {"g", "p"}, {e.Group, e.Profile}, {"other", "p"}} {
			k := kept(&e, gp[0], gp[1])
			if got := k.Event(gp[0], gp[1], nil); got != e {
				t.Errorf("kept (record of %q %q) and back: %+v, want %+v", gp[0], gp[1], got, e)
			}
			var buf []byte
			if got := k.Event(gp[0], gp[1], &buf); got != e {
				t.Errorf("kept (record of %q %q) and back, into a slab: %+v, want %+v", gp[0], gp[1], got, e)
			}
		}
	}
	// A count beyond the kept type's is kept as its most (where an int
	// can hold such a count).
	if big := int64(math.MaxInt32) + 5; big <= math.MaxInt {
		e := Event{Time: t0, Repeats: int(big), Last: t0.Add(time.Hour)}
		if k := kept(&e, "", ""); k.Event("", "", nil).Repeats != math.MaxInt32 {
			t.Errorf("a count of %d kept as %d", e.Repeats, k.Event("", "", nil).Repeats)
		}
	}
}

// TestRepeatsSaturate: an event that counted math.MaxInt32 repeats
// counts no more; the next request is an event of its own.
func TestRepeatsSaturate(t *testing.T) {
	r := NewRecorder(nil, nil, nil)
	const mac = "52:54:00:00:00:01"
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	e := Event{Time: t0, Endpoint: "/ipxe", Group: "g", Status: 200, Remote: "h:1"}
	r.Record(mac, "", e)
	e.Time = t0.Add(time.Second)
	r.Record(mac, "", e)
	r.mu.Lock()
	k := r.all[mac].newest()
	k.repeats, k.last = math.MaxInt32-1, lastOf(k.time(), e.Time) // as if counted so far
	r.mu.Unlock()
	for i := range 2 {
		e.Time = t0.Add(time.Duration(2+i) * time.Second)
		r.Record(mac, "", e)
	}
	m, _ := r.Get(mac)
	if len(m.Events) != 3 || m.Events[1].Repeats != math.MaxInt32 || !m.Events[1].Last.Equal(t0.Add(2*time.Second)) || m.Events[2].Repeats != 0 {
		t.Fatalf("events %+v", m.Events)
	}
}

// TestHandleSharesRecordStrings: a handle keeps the record's own copies of
// its mac and uuid (equal pointers compare without reading the bytes, in
// record.repeat), not the caller's, and a repeat through it is counted on
// the newest event without a new one.
func TestHandleSharesRecordStrings(t *testing.T) {
	r := NewRecorder(&saver{}, nil, nil)
	mac := strings.Clone("52:54:00:00:00:09")
	uuid := strings.Clone("0b1c0f7e-7b6e-4b3c-9d1a-3f5e2a6c8d90")
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	e := Event{Time: t0, Endpoint: "/ipxe", Status: 200, Group: "g", Profile: "p", Remote: "10.0.0.1:4000"}
	h := r.RecordHandle(mac, uuid, e)
	if h == nil {
		t.Fatal("no handle")
	}
	r.mu.Lock()
	m := h.rec.m
	r.mu.Unlock()
	if unsafe.StringData(h.mac) != unsafe.StringData(m.MAC) || unsafe.StringData(h.uuid) != unsafe.StringData(m.UUID) {
		t.Errorf("handle's mac/uuid are not the record's own strings")
	}
	if h.mac != mac || h.uuid != uuid {
		t.Errorf("handle names %q %q, want %q %q", h.mac, h.uuid, mac, uuid)
	}
	// The first event moved the machine to booting; the second is a
	// plain sighting, the third repeats it.
	for i := 1; i <= 2; i++ {
		e.Time, e.Remote = t0.Add(time.Duration(i)*time.Second), fmt.Sprint("10.0.0.1:", 4000+i)
		r.RecordTo(h, e)
	}
	got, ok := r.Get(Key(mac, uuid))
	if !ok {
		t.Fatal("no record")
	}
	if n := len(got.Events); n != 2 || got.Events[1].Repeats != 1 || !got.Events[1].Last.Equal(e.Time) {
		t.Errorf("events %+v, want two, the second counting 1 repeat, last %v", got.Events, e.Time)
	}
}

// TestOwnedRepeatsMatchRecord: repeats counted on a handle (pending.go)
// leave every machine, every Get and every flushed batch as Record
// leaves them, with pending repeats left to pile up between reads: each
// machine asked through one handle per endpoint (as the boot server keeps
// one per query), runs of repeats, gaps past RepeatWindow, hardware that
// changes, state-moving reports, flushes with and without repeats.
func TestOwnedRepeatsMatchRecord(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(4) {
		rnd := rand.New(rand.NewPCG(seed, 7))
		t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		macs := []string{"52:54:00:00:01:01", "52:54:00:00:01:02", "52:54:00:00:01:03"}
		eps := []string{"/ipxe", "/ipxe", "/ipxe", "/metadata", "/ignition"}
		sa, sb := &saver{}, &saver{}
		a := NewRecorder(sa, nil, nil)
		b := NewRecorder(sb, nil, nil)
		type key struct{ mac, ep string }
		handles := map[key]*Handle{}
		now := t0
		var ep string
		mac := macs[0]
		pended := 0 // repeats counted on a handle
		for i := range 20000 {
			if rnd.IntN(8) == 0 { // mostly runs of the same request
				mac, ep = macs[rnd.IntN(len(macs))], eps[rnd.IntN(len(eps))]
				if rnd.IntN(30) == 0 {
					ep = EndpointInstalled // moves the state
				}
			}
			if ep == "" {
				ep = "/ipxe"
			}
			step := time.Duration(rnd.IntN(3000)) * time.Millisecond
			if rnd.IntN(50) == 0 {
				step = RepeatWindow + time.Second
			}
			now = now.Add(step)
			e := Event{Time: now, Endpoint: ep, Status: 200, Group: "g", Profile: "p",
				Remote: fmt.Sprintf("10.0.0.%d:%d", 1+min(rnd.IntN(20), 1), 1000+rnd.IntN(5))}
			if rnd.IntN(40) == 0 {
				e.Status = 404
			}
			if rnd.IntN(60) == 0 {
				e.Hardware = Hardware{Serial: fmt.Sprint("S", rnd.IntN(3)), Arch: "x86_64"}
			}
			a.Record(mac, "", e)
			k := key{mac, ep}
			if h := handles[k]; h != nil {
				n := h.own.n
				b.RecordTo(h, e)
				if h.own.n > n {
					pended++
				}
			} else if handles[k] = b.RecordHandle(mac, "", e); handles[k] == nil {
				t.Fatalf("no handle for %s", mac)
			}
			switch rnd.IntN(97) {
			case 0:
				m := macs[rnd.IntN(len(macs))]
				x, _ := a.Get(m)
				y, _ := b.Get(m)
				if !reflect.DeepEqual(y, x) {
					t.Fatalf("seed %d, event %d: Get(%s):\n got %+v\nwant %+v", seed, i, m, y, x)
				}
			case 1:
				if got, want := b.List(), a.List(); !reflect.DeepEqual(got, want) {
					t.Fatalf("seed %d, event %d: List:\n got %+v\nwant %+v", seed, i, got, want)
				}
			case 2, 3:
				repeats := rnd.IntN(2) == 0
				if err := a.flush(ctx, repeats); err != nil {
					t.Fatal(err)
				}
				if err := b.flush(ctx, repeats); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := a.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if got, want := b.List(), a.List(); !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d, at the end: List:\n got %+v\nwant %+v", seed, got, want)
		}
		if !reflect.DeepEqual(sb.batches, sa.batches) {
			t.Fatalf("seed %d: flushed batches differ (%d and %d)", seed, len(sb.batches), len(sa.batches))
		}
		if pended < 5000 {
			t.Fatalf("seed %d: %d repeats counted on a handle: the test does not exercise the pending path", seed, pended)
		}
	}
}

// TestIdleOwnerReleased: the handle that owns a record's newest event
// stays its owner while it counts repeats, and a flush after which it
// counted nothing releases it (the record keeps no handle of a machine
// that stopped asking), its counts written; the next repeat through it
// is still counted on the same event.
func TestIdleOwnerReleased(t *testing.T) {
	ctx := context.Background()
	s := &saver{}
	r := NewRecorder(s, nil, nil)
	const mac = "52:54:00:00:00:0a"
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	e := Event{Time: t0, Endpoint: "/ipxe", Status: 200, Group: "g", Profile: "p", Remote: "10.0.0.1:4000"}
	h := r.RecordHandle(mac, "", e) // moves the state: a new event, not owned
	next := func() {
		e.Time = e.Time.Add(time.Second)
		r.RecordTo(h, e)
	}
	next() // a plain sighting: h owns it
	owner := func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return h.rec.owner == h && h.own.ok
	}
	if !owner() {
		t.Fatal("the handle does not own the newest event")
	}
	for range 3 {
		next()
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if !owner() {
			t.Fatal("an owner that counted was released")
		}
	}
	if err := r.Flush(ctx); err != nil { // nothing counted since the last
		t.Fatal(err)
	}
	if owner() {
		t.Fatal("an idle owner was kept")
	}
	r.mu.Lock()
	n := len(r.pending)
	r.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d handles listed after the release", n)
	}
	next()
	m, _ := r.Get(mac)
	if len(m.Events) != 2 || m.Events[1].Repeats != 4 || !m.Events[1].Last.Equal(e.Time) || !m.LastSeen.Equal(e.Time) {
		t.Fatalf("events %+v, last seen %v; want the second counting 4 repeats, last %v", m.Events, m.LastSeen, e.Time)
	}
	last := s.batches[len(s.batches)-1]
	if len(last) != 1 || last[0].Events[1].Repeats != 3 {
		t.Fatalf("last batch %+v, want the machine with 3 repeats", last)
	}
}

// TestNewHandleNotListed: a handle that RecordHandle returns owns nothing
// and is not listed until it is used again (RecordTo): the handles of
// machines that ask once, the most of them when a whole fleet reboots,
// are not kept until the next flush. The repeat through it is still
// counted on the newest event.
func TestNewHandleNotListed(t *testing.T) {
	ctx := context.Background()
	s := &saver{}
	r := NewRecorder(s, nil, nil)
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	e := Event{Time: t0, Endpoint: "/ipxe", Status: 200, Group: "g", Profile: "p", Remote: "10.0.0.1:4000"}
	// Machines seen before: their next request is a plain sighting, the
	// kind of event a handle owns.
	hs := make([]*Handle, 1000)
	for i := range hs {
		mac := fmt.Sprintf("52:54:00:00:%02x:%02x", i>>8, i&255)
		r.Record(mac, "", e)
		hs[i] = r.RecordHandle(mac, "", e)
	}
	r.mu.Lock()
	listed, owned := len(r.pending), 0
	for _, h := range hs {
		if h.rec.owner == h {
			owned++
		}
	}
	r.mu.Unlock()
	if listed != 0 || owned != 0 {
		t.Fatalf("after RecordHandle: %d handles listed, %d own their event; want none", listed, owned)
	}
	e.Time = t0.Add(time.Second)
	r.RecordTo(hs[7], e)
	r.mu.Lock()
	listed, own := len(r.pending), hs[7].rec.owner == hs[7]
	r.mu.Unlock()
	if listed != 1 || !own {
		t.Fatalf("after RecordTo: %d listed, owner %v; want the handle listed and owning", listed, own)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	m, _ := r.Get(hs[7].rec.m.Key)
	// The first Record moved the state (an event of its own); the
	// sighting through RecordHandle is the newest event, and the
	// RecordTo its repeat.
	if n := len(m.Events); n != 2 || m.Events[1].Repeats != 1 || !m.Events[1].Last.Equal(e.Time) {
		t.Fatalf("events %+v, want two, the newest counting one repeat at %v", m.Events, e.Time)
	}
}
