package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/provisiond/provisiond/inventory"
)

// inventoryRecords returns records with every field set, events included,
// at times with nanoseconds and in another zone than UTC.
func inventoryRecords() []inventory.Machine {
	t0 := time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))
	return []inventory.Machine{
		{
			Key: mac(1), MAC: mac(1), UUID: "0f9e3b1a-2c4d-4e5f-8a9b-0c1d2e3f4a5b",
			FirstSeen: t0, LastSeen: t0.Add(130*time.Second + 7), LastEndpoint: "/metadata",
			Group: "workers", Profile: "worker", State: inventory.Configured,
			Events: []inventory.Event{
				{Time: t0, Endpoint: "/ipxe", Group: "workers", Profile: "worker", Remote: "10.1.0.3:4242", Status: 200},
				{Time: t0.Add(90 * time.Second), Endpoint: "/ignition", Group: "workers", Profile: "worker", Remote: "10.1.0.3:4243", Status: 200},
				{Time: t0.Add(95 * time.Second), Endpoint: "/metadata", Group: "workers", Profile: "worker", Remote: "10.1.0.3:4299", Status: 200,
					Repeats: 11, Last: t0.Add(130*time.Second + 7)},
			},
		},
		{
			Key: "uuid:11111111-2222-3333-4444-555555555555", UUID: "11111111-2222-3333-4444-555555555555",
			FirstSeen: t0, LastSeen: t0, LastEndpoint: "/ipxe", State: inventory.Discovered,
			Events: []inventory.Event{{Time: t0, Endpoint: "/ipxe", Status: 404}},
		},
		{Key: mac(2), MAC: mac(2), FirstSeen: t0, LastSeen: t0, LastEndpoint: "/boot.ipxe", State: inventory.Discovered},
	}
}

func testMachinesRoundTrip(t *testing.T, h *harness) {
	if ms := h.machines(); len(ms) != 0 {
		t.Fatalf("fresh store has inventory: %s", show(ms))
	}
	if err := h.s.SaveMachines(t.Context(), nil); err != nil {
		t.Fatalf("SaveMachines(nil): %v", err)
	}
	want := inventoryRecords()
	if err := h.s.SaveMachines(t.Context(), want); err != nil {
		t.Fatalf("SaveMachines: %v", err)
	}
	checkMachines(t, h.machines(), want)
}

// testMachinesOverwrite writes a record again the way the recorder does
// when a machine moves on: a later last-seen, a new state, and a new event
// that pushes the oldest out of the MaxEvents it keeps. A backend that
// merges records (etcd: several replicas) and one that overwrites them
// (bbolt) both store exactly the new record.
func testMachinesOverwrite(t *testing.T, h *harness) {
	recs := inventoryRecords()
	first := &recs[0]
	for len(first.Events) < inventory.MaxEvents {
		last := first.Events[len(first.Events)-1]
		first.Events = append(first.Events, inventory.Event{Time: last.Time.Add(time.Minute), Endpoint: "/ignition",
			Group: "workers", Profile: "worker", Remote: "10.1.0.3:4244", Status: 200})
		first.LastSeen = last.Time.Add(time.Minute)
	}
	if err := h.s.SaveMachines(t.Context(), recs); err != nil {
		t.Fatalf("SaveMachines: %v", err)
	}
	checkMachines(t, h.machines(), recs)
	// The first record moves on; the others are not in this write and stay.
	m := recs[0]
	m.LastSeen = m.LastSeen.Add(time.Hour)
	m.LastEndpoint = "/ipxe"
	m.State = inventory.Booting
	m.Events = append(m.Events[1:], inventory.Event{Time: m.LastSeen, Endpoint: "/ipxe", Status: 200})
	if err := h.s.SaveMachines(t.Context(), []inventory.Machine{m}); err != nil {
		t.Fatalf("SaveMachines: %v", err)
	}
	checkMachines(t, h.machines(), []inventory.Machine{m, recs[1], recs[2]})
	// The machine asks again and again: its newest event counts the
	// repeats (the recorder writes these every few seconds), each request
	// from another port.
	m.LastSeen = m.LastSeen.Add(time.Minute)
	m.Events = append(m.Events[1:], inventory.Event{Time: m.LastSeen, Endpoint: "/ipxe", Group: "workers", Profile: "worker", Remote: "10.1.0.3:4300", Status: 200})
	if err := h.s.SaveMachines(t.Context(), []inventory.Machine{m}); err != nil {
		t.Fatalf("SaveMachines: %v", err)
	}
	checkMachines(t, h.machines(), []inventory.Machine{m, recs[1], recs[2]})
	for i := range 3 {
		last := &m.Events[len(m.Events)-1]
		last.Repeats++
		last.Last = m.LastSeen.Add(time.Duration(i+1) * 10 * time.Second)
		last.Remote = fmt.Sprint("10.1.0.3:", 5000+i)
		m.LastSeen = last.Last
		if err := h.s.SaveMachines(t.Context(), []inventory.Machine{m}); err != nil {
			t.Fatalf("SaveMachines: %v", err)
		}
		checkMachines(t, h.machines(), []inventory.Machine{m, recs[1], recs[2]})
	}
}

// testMachinesWalk walks an inventory larger than one read of a backend
// that reads it in pages (etcd: 1,000 records), first a whole number of
// such pages, then not: every record once, in key order, as Machines
// returns them (h.machines). A walk stops at its function's first error
// and returns that error as it is.
func testMachinesWalk(t *testing.T, h *harness) {
	t0 := time.Date(2026, 12, 1, 13, 49, 26, 609202542, time.UTC)
	var want []inventory.Machine
	save := func(from, to int) {
		var ms []inventory.Machine
		for i := from; i < to; i++ {
			m := inventory.Machine{Key: mac(i), MAC: mac(i), FirstSeen: t0, LastSeen: t0.Add(time.Duration(i) * time.Millisecond),
				LastEndpoint: "/metadata", Group: fmt.Sprintf("m%06d", i), Profile: "butane", State: inventory.Configured,
				Hardware: &inventory.Hardware{Arch: "x86_64"},
				Events: []inventory.Event{{Time: t0, Endpoint: "/metadata", Group: fmt.Sprintf("m%06d", i), Profile: "butane",
					Remote: fmt.Sprintf("127.0.0.1:%d", 40000+i%20000), Status: 200}},
				Changes: []inventory.Change{{Time: t0, To: inventory.Booting, Cause: "/ipxe"}}}
			ms = append(ms, m)
		}
		if err := h.s.SaveMachines(t.Context(), ms); err != nil {
			t.Fatalf("SaveMachines: %v", err)
		}
		want = append(want, ms...)
	}
	walk := func() {
		t.Helper()
		got := h.machines() // WalkMachines too, compared with Machines
		if len(got) != len(want) {
			t.Fatalf("Machines returned %d records, %d were saved", len(got), len(want))
		}
		for i := range got {
			if got[i].Key != want[i].Key {
				t.Fatalf("record %d is %s, want %s (key order)", i, got[i].Key, want[i].Key)
			}
		}
		checkMachines(t, got, want)
	}
	save(0, 2000)
	walk()
	save(2000, 2500)
	walk()

	stop := errors.New("enough")
	n := 0
	err := h.s.WalkMachines(t.Context(), func(m inventory.Machine) error {
		if n++; n == 1500 {
			return stop
		}
		return nil
	})
	if err != stop || n != 1500 {
		t.Errorf("a walk stopped at its 1500th record returned %v after %d records, want %v after 1500", err, n, stop)
	}
}
