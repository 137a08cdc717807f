package inventory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestRecorderMatchesMachineApply drives a Recorder and, beside it, plain
// Machines through Machine.apply (the events shifted down one by one):
// after every event, for machines loaded from the store with 0, 1,
// MaxEvents-1, MaxEvents and more than MaxEvents events or never seen,
// Get, List, Apply's answer and what Flush writes are the reference
// machine exactly: the same events, oldest first, the same bound, state,
// timeline and hardware. The recorder keeps events in a ring, so this is
// what says the ring is invisible.
func TestRecorderMatchesMachineApply(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	event := func(i int) Event {
		eps := []string{"/ipxe", "/ignition", "/metadata", "/ipxe", "dhcp:ack", EndpointInstalled, EndpointOperator}
		e := Event{Time: t0.Add(time.Duration(i) * time.Second), Endpoint: eps[rnd.IntN(len(eps))],
			Status: []int{200, 200, 200, 404, 500}[rnd.IntN(5)], Group: "g", Profile: "p", Remote: fmt.Sprint("10.0.0.1:", i)}
		if e.Endpoint == EndpointOperator {
			e.State, e.Cause = Reprovisioning, "again"
		}
		if i%3 == 0 {
			e.Hardware = Hardware{Serial: fmt.Sprint("S", i), Arch: "x86_64"}
		}
		return e
	}
	var existing []Machine
	ref := map[string]*Machine{}
	for j, n := range []int{0, 1, MaxEvents - 1, MaxEvents, MaxEvents + 5} {
		mac := fmt.Sprintf("52:54:00:00:01:%02x", j)
		m := Machine{Key: mac}
		for i := range n {
			m.Events = append(m.Events, Event{Time: t0.Add(-time.Duration(n-i) * time.Hour), Endpoint: "/ipxe", Status: 200, Group: "old"})
		}
		m.MAC, m.State, m.FirstSeen, m.LastSeen = mac, Booting, t0.Add(-time.Hour), t0.Add(-time.Hour)
		existing = append(existing, m)
		want := m
		want.Events = append([]Event(nil), m.Events...)
		if len(want.Events) > MaxEvents {
			want.Events = want.Events[len(want.Events)-MaxEvents:]
		}
		ref[mac] = &want
	}
	macs := []string{"52:54:00:00:02:01", "52:54:00:00:02:02"} // never seen
	for mac := range ref {
		macs = append(macs, mac)
	}
	s := &saver{}
	r := NewRecorder(s, existing, nil)
	if !reflect.DeepEqual(existing[4].Events[0].Group, "old") || len(existing[4].Events) != MaxEvents+5 {
		t.Fatal("NewRecorder changed the caller's machines")
	}
	check := func(when string, got Machine, mac string) {
		t.Helper()
		want := *ref[mac]
		if len(want.Events) == 0 {
			want.Events = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: machine %s\n got %+v\nwant %+v", when, mac, got, want)
		}
	}
	for i := range 5 * MaxEvents {
		mac := macs[rnd.IntN(len(macs))]
		e := event(i)
		if ref[mac] == nil {
			ref[mac] = &Machine{Key: mac}
		}
		wantErr := ref[mac].apply(mac, "", e)
		if i%4 == 0 {
			got, err := r.Apply(mac, "", e)
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("event %d: Apply error %v, reference %v", i, err, wantErr)
			}
			check(fmt.Sprint("Apply of event ", i), got, mac)
		} else {
			r.Record(mac, "", e)
		}
		got, ok := r.Get(mac)
		if !ok {
			t.Fatalf("event %d: %s not recorded", i, mac)
		}
		check(fmt.Sprint("Get after event ", i), got, mac)
		if len(got.Events) > MaxEvents {
			t.Fatalf("%d events", len(got.Events))
		}
		if i%7 == 0 {
			before := len(s.batches)
			if err := r.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, b := range s.batches[before:] {
				for _, m := range b {
					check(fmt.Sprint("flush after event ", i), m, m.Key)
				}
			}
		}
	}
	for _, m := range r.List() {
		check("List", m, m.Key)
	}
}

// TestRecorderFlushWritesEachChangedMachineOnce: a machine recorded many
// times between two flushes is written once, with all its events; one
// not recorded since is not written again; a failed flush leaves every
// machine of it to the next, with what was recorded in between.
func TestRecorderFlushWritesEachChangedMachineOnce(t *testing.T) {
	s := &saver{}
	r := NewRecorder(s, nil, nil)
	for i := range 3 * MaxEvents {
		r.Record("52:54:00:00:00:01", "", evFrom(i, "/ipxe", 200, "g"))
		if i < 2 {
			r.Record("52:54:00:00:00:02", "", evFrom(i, "/ipxe", 200, "g"))
		}
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(s.batches) != 1 || len(s.batches[0]) != 2 || len(s.batches[0][0].Events) != MaxEvents || len(s.batches[0][1].Events) != 2 {
		t.Fatalf("first flush: %d batches %v", len(s.batches), s.batches)
	}
	r.Record("52:54:00:00:00:01", "", ev("/ignition", 200, "g"))
	s.fail = fmt.Errorf("disk full")
	if err := r.Flush(context.Background()); err == nil {
		t.Fatal("flush with a failing store: no error")
	}
	r.Record("52:54:00:00:00:03", "", ev("/ipxe", 200, "g"))
	s.fail = nil
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(s.batches) != 2 || len(s.batches[1]) != 2 || s.batches[1][0].Key != "52:54:00:00:00:01" || s.batches[1][1].Key != "52:54:00:00:00:03" {
		t.Fatalf("after the retry: %v", s.batches[1:])
	}
	if last := s.batches[1][0].Events[MaxEvents-1]; last.Endpoint != "/ignition" {
		t.Fatalf("newest event written %+v", last)
	}
	if err := r.Flush(context.Background()); err != nil || len(s.batches) != 2 {
		t.Fatalf("a flush with nothing changed wrote %d batches (%v)", len(s.batches)-2, err)
	}
}

// TestRecordAllocatesNothingForAKnownMachine: recording an event of a
// machine seen before, once its ring is full, allocates nothing; nor
// does counting a repeat.
func TestRecordAllocatesNothingForAKnownMachine(t *testing.T) {
	r := NewRecorder(&saver{}, nil, nil)
	e := ev("/ipxe", 200, "g")
	e.Hardware = Hardware{Serial: "S1", Arch: "x86_64"}
	// /ipxe and /ignition in turn: each a new event (the ring's path)
	i := 0
	next := func() Event {
		i++
		if e := e; i%2 == 0 {
			e.Endpoint = "/ignition"
			return e
		}
		return e
	}
	for range MaxEvents {
		r.Record("52:54:00:00:00:01", "", next())
	}
	if n := testing.AllocsPerRun(1000, func() { r.Record("52:54:00:00:00:01", "", next()) }); n != 0 {
		t.Fatalf("%v allocations per Record", n)
	}
	if m, _ := r.Get("52:54:00:00:00:01"); m.Events[MaxEvents-1].Repeats != 0 || m.Events[MaxEvents-2].Endpoint == m.Events[MaxEvents-1].Endpoint {
		t.Fatalf("the events alternate no more: %+v", m.Events[MaxEvents-2:])
	}
	// the same request again and again: counted on the newest event
	if n := testing.AllocsPerRun(1000, func() { r.Record("52:54:00:00:00:01", "", e) }); n != 0 {
		t.Fatalf("%v allocations per repeat", n)
	}
	if m, _ := r.Get("52:54:00:00:00:01"); m.Events[MaxEvents-1].Repeats < 1000 {
		t.Fatalf("the repeats were not counted: %+v", m.Events[MaxEvents-1])
	}
}

// TestRecordKeepsNoRequestString: what a record keeps of a request's
// strings (mac, uuid, hardware) is its own copy, not a substring of the
// request that would keep the whole request alive.
func TestRecordKeepsNoRequestString(t *testing.T) {
	r := NewRecorder(&saver{}, nil, nil)
	query := "mac=52:54:00:00:03:01&uuid=8e0e7d8a-1f2b-4c3d-8e9f-0a1b2c3d4e5f&serial=SER-123&arch=x86_64&product=Box"
	field := func(k string) string {
		i := strings.Index(query, k+"=") + len(k) + 1
		j := strings.IndexByte(query[i:], '&')
		if j < 0 {
			return query[i:]
		}
		return query[i : i+j]
	}
	e := ev("/ipxe", 200, "g")
	e.Hardware = HardwareFrom(field)
	r.Record(field("mac"), field("uuid"), e)
	m, ok := r.Get(field("mac"))
	if !ok || m.Hardware == nil || m.Hardware.Serial != "SER-123" || m.UUID != field("uuid") {
		t.Fatalf("recorded %+v", m)
	}
	r.mu.Lock()
	rec := r.all[field("mac")]
	kept := []string{rec.m.Key, rec.m.MAC, rec.m.UUID, rec.m.Hardware.Serial, rec.m.Hardware.Arch, rec.m.Hardware.Product}
	r.mu.Unlock()
	lo, hi := uintptr(unsafe.Pointer(unsafe.StringData(query))), uintptr(unsafe.Pointer(unsafe.StringData(query)))+uintptr(len(query))
	for _, s := range kept {
		if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); p >= lo && p < hi {
			t.Errorf("the record keeps %q, a substring of the request", s)
		}
	}
}
