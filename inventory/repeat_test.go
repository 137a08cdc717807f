package inventory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// TestRepeats: the same request again and again is one event, counted;
// what differs, comes too late or moves the state is an event of its own.
// Each case runs through Record, through RecordTo (the boot server's
// handle) and through Machine.apply (the reference), which must agree.
func TestRepeats(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	ipxe := func(s int, remote string) Event {
		return Event{Time: at(s), Endpoint: "/ipxe", Group: "g", Profile: "p", Remote: remote, Status: 200}
	}
	with := func(e Event, f func(*Event)) Event { f(&e); return e }
	// want: the events kept, as (endpoint, repeats) pairs
	type kept struct {
		endpoint string
		repeats  int
	}
	tests := []struct {
		name   string
		events []Event
		want   []kept
	}{
		{"same request five times", []Event{ipxe(0, "10.0.0.1:1000"), ipxe(1, "10.0.0.1:1001"), ipxe(2, "10.0.0.1:1002"), ipxe(3, "10.0.0.1:1003"), ipxe(4, "10.0.0.1:1004"), ipxe(5, "10.0.0.1:1005")},
			// the first moved the machine to booting: an event of its own
			[]kept{{"/ipxe", 0}, {"/ipxe", 4}}},
		{"another endpoint breaks the run", []Event{ipxe(0, "h:1"), ipxe(1, "h:1"), ipxe(2, "h:1"),
			with(ipxe(3, "h:1"), func(e *Event) { e.Endpoint = "/metadata" }), ipxe(4, "h:1"), ipxe(5, "h:1")},
			[]kept{{"/ipxe", 0}, {"/ipxe", 1}, {"/metadata", 0}, {"/ipxe", 1}}},
		{"another status breaks the run", []Event{ipxe(0, "h:1"), ipxe(1, "h:1"), with(ipxe(2, "h:1"), func(e *Event) { e.Status = 500 }),
			with(ipxe(3, "h:1"), func(e *Event) { e.Status = 500 }), ipxe(4, "h:1")},
			[]kept{{"/ipxe", 0}, {"/ipxe", 0}, {"/ipxe", 1}, {"/ipxe", 0}}},
		{"another group breaks the run", []Event{ipxe(0, "h:1"), ipxe(1, "h:1"), with(ipxe(2, "h:1"), func(e *Event) { e.Group = "h" }), ipxe(3, "h:1"), ipxe(4, "h:1")},
			[]kept{{"/ipxe", 0}, {"/ipxe", 0}, {"/ipxe", 0}, {"/ipxe", 1}}},
		{"another profile breaks the run", []Event{ipxe(0, "h:1"), ipxe(1, "h:1"), with(ipxe(2, "h:1"), func(e *Event) { e.Profile = "q" })},
			[]kept{{"/ipxe", 0}, {"/ipxe", 0}, {"/ipxe", 0}}},
		{"another host breaks the run", []Event{ipxe(0, "10.0.0.1:1"), ipxe(1, "10.0.0.1:2"), ipxe(2, "10.0.0.2:2"), ipxe(3, "10.0.0.2:3")},
			[]kept{{"/ipxe", 0}, {"/ipxe", 0}, {"/ipxe", 1}}},
		{"ipv6 port ignored, host not", []Event{ipxe(0, "[fd00::1]:1"), ipxe(1, "[fd00::1]:2"), ipxe(2, "[fd00::1]:3"), ipxe(3, "[fd00::2]:3")},
			[]kept{{"/ipxe", 0}, {"/ipxe", 1}, {"/ipxe", 0}}},
		{"within the window of the last repeat, not of the first", []Event{ipxe(0, "h:1"), ipxe(10, "h:1"), ipxe(60, "h:1"), ipxe(120, "h:1"), ipxe(180, "h:1")},
			[]kept{{"/ipxe", 0}, {"/ipxe", 3}}},
		{"outside the window: a new event", []Event{ipxe(0, "h:1"), ipxe(10, "h:1"), ipxe(71, "h:1"), ipxe(72, "h:1"), ipxe(86472, "h:1")},
			[]kept{{"/ipxe", 0}, {"/ipxe", 0}, {"/ipxe", 1}, {"/ipxe", 0}}},
		{"a clock that went back: a new event", []Event{ipxe(0, "h:1"), ipxe(10, "h:1"), ipxe(5, "h:1")},
			[]kept{{"/ipxe", 0}, {"/ipxe", 0}, {"/ipxe", 0}}},
		{"reports are never counted", []Event{ipxe(0, "h:1"), {Time: at(1), Endpoint: EndpointInstalled, Status: 200, Remote: "h:1"},
			{Time: at(2), Endpoint: EndpointInstalled, Status: 200, Remote: "h:1"}, {Time: at(3), Endpoint: EndpointInstalled, Status: 200, Remote: "h:1"}},
			[]kept{{"/ipxe", 0}, {EndpointInstalled, 0}, {EndpointInstalled, 0}, {EndpointInstalled, 0}}},
		{"operators' commands are never counted", []Event{ipxe(0, "h:1"), {Time: at(1), Endpoint: EndpointOperator, State: Installed},
			{Time: at(2), Endpoint: EndpointOperator, State: Installed}},
			[]kept{{"/ipxe", 0}, {EndpointOperator, 0}, {EndpointOperator, 0}}},
		{"bmc operations are never counted", []Event{ipxe(0, "h:1"), {Time: at(1), Endpoint: EndpointBMC + "cycle", Status: 200},
			{Time: at(2), Endpoint: EndpointBMC + "cycle", Status: 200}},
			[]kept{{"/ipxe", 0}, {EndpointBMC + "cycle", 0}, {EndpointBMC + "cycle", 0}}},
		{"install once: the state's moves are events of their own, the disk boots after them counted",
			[]Event{ipxe(0, "h:1"), ipxe(1, "h:1"), {Time: at(2), Endpoint: EndpointInstalled, Status: 200, Remote: "h:1"},
				with(ipxe(3, "h:1"), func(e *Event) { e.LocalBoot = true }), with(ipxe(4, "h:1"), func(e *Event) { e.LocalBoot = true }),
				{Time: at(5), Endpoint: EndpointOperator, State: Reprovisioning}, ipxe(6, "h:1"), ipxe(7, "h:1"), ipxe(8, "h:1")},
			[]kept{{"/ipxe", 0}, {"/ipxe", 0}, {EndpointInstalled, 0}, {"/ipxe", 1}, {EndpointOperator, 0}, {"/ipxe", 0}, {"/ipxe", 1}}},
		{"a refused event is never counted", []Event{ipxe(0, "h:1"), {Time: at(1), Endpoint: EndpointOperator, State: Reprovisioning},
			{Time: at(2), Endpoint: EndpointInstalled, Status: 200, Remote: "h:1"}, {Time: at(3), Endpoint: EndpointInstalled, Status: 200, Remote: "h:1"}},
			[]kept{{"/ipxe", 0}, {EndpointOperator, 0}, {EndpointInstalled, 0}, {EndpointInstalled, 0}}},
		{"a miss repeated", []Event{{Time: at(0), Endpoint: "/ipxe", Status: 404, Remote: "h:1"}, {Time: at(1), Endpoint: "/ipxe", Status: 404, Remote: "h:2"},
			{Time: at(2), Endpoint: "/ipxe", Status: 404, Remote: "h:3"}},
			[]kept{{"/ipxe", 0}, {"/ipxe", 1}}},
		{"dhcp repeated", []Event{{Time: at(0), Endpoint: "dhcp:discover", Status: 200, Remote: "h:68"}, {Time: at(1), Endpoint: "dhcp:discover", Status: 200, Remote: "h:68"},
			{Time: at(2), Endpoint: "dhcp:discover", Status: 200, Remote: "h:68"}},
			[]kept{{"dhcp:discover", 0}, {"dhcp:discover", 1}}},
	}
	const mac = "52:54:00:00:00:01"
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref := Machine{Key: mac}
			r, rh := NewRecorder(nil, nil, nil), NewRecorder(nil, nil, nil)
			var h *Handle
			for _, e := range tc.events {
				ref.apply(mac, "", e)
				if e.Endpoint == EndpointOperator {
					r.Apply(mac, "", e)
					rh.Apply(mac, "", e)
					continue
				}
				r.Record(mac, "", e)
				if h == nil {
					h = rh.RecordHandle(mac, "", e)
				} else {
					rh.RecordTo(h, e)
				}
			}
			var got []kept
			for _, e := range ref.Events {
				got = append(got, kept{e.Endpoint, e.Repeats})
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("events %v, want %v\n%+v", got, tc.want, ref.Events)
			}
			for name, rr := range map[string]*Recorder{"Record": r, "RecordTo": rh} {
				m, _ := rr.Get(mac)
				if !reflect.DeepEqual(m, ref) {
					t.Fatalf("%s:\n got %+v\nwant %+v", name, m, ref)
				}
			}
			// A counted event is its first request's time, and its last
			// request's time and remote; the machine was last seen then.
			i := 0
			for _, e := range ref.Events {
				first := tc.events[i]
				i += 1 + e.Repeats
				last := tc.events[i-1]
				if !e.Time.Equal(first.Time) || e.Remote != last.Remote {
					t.Errorf("event %+v: want the time of %+v, the remote of %+v", e, first, last)
				}
				if e.Repeats > 0 && !e.Last.Equal(last.Time) || e.Repeats == 0 && !e.Last.IsZero() {
					t.Errorf("event %+v: last %v, want %v", e, e.Last, last.Time)
				}
			}
			if i != len(tc.events) {
				t.Errorf("the events count %d requests of %d", i, len(tc.events))
			}
		})
	}
}

// TestRepeatOfAStoredRecord: a record loaded from the store is not
// settled: the first request after the load is folded (Next), so a
// stored state that its newest event does not explain (written before
// states, or by another replica) is moved as the lifecycle says, not
// assumed. A repeat of a stored event is counted on it.
func TestRepeatOfAStoredRecord(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	e := Event{Time: t0, Endpoint: "/ipxe", Status: 200, Group: "g", Profile: "p", Remote: "10.0.0.1:1"}
	stored := []Machine{
		// the newest event moved nothing: a repeat is counted on it
		{Key: "52:54:00:00:00:01", MAC: "52:54:00:00:00:01", State: Booting, LastSeen: t0, LastEndpoint: "/ipxe", Events: []Event{e}},
		// installed since (a replica's report): the same /ipxe moves it
		{Key: "52:54:00:00:00:02", MAC: "52:54:00:00:00:02", State: Installed, LastSeen: t0, LastEndpoint: "/ipxe", Events: []Event{e}},
	}
	r := NewRecorder(&saver{}, stored, nil)
	again := e
	again.Time, again.Remote = t0.Add(time.Second), "10.0.0.1:2"
	r.Record("52:54:00:00:00:01", "", again)
	r.Record("52:54:00:00:00:02", "", again)
	m, _ := r.Get("52:54:00:00:00:01")
	if len(m.Events) != 1 || m.Events[0].Repeats != 1 || !m.Events[0].Last.Equal(again.Time) || m.Events[0].Remote != again.Remote || !m.LastSeen.Equal(again.Time) {
		t.Errorf("a repeat of a stored event: %+v", m)
	}
	m, _ = r.Get("52:54:00:00:00:02")
	if len(m.Events) != 2 || m.State != Booting || m.Events[1].State != Booting {
		t.Errorf("a stored installed machine's /ipxe: %+v", m)
	}
}

// TestRepeatThatChangesTheRecord: a repeat that brings a new uuid or
// hardware fact is counted, and the record takes the new fact and is
// written at the next flush (not as a repeat only).
func TestRepeatThatChangesTheRecord(t *testing.T) {
	s := &saver{}
	r := NewRecorder(s, nil, nil)
	const mac, uuid = "52:54:00:00:00:01", "0b1c0f7e-7b6e-4b3c-9d1a-3f5e2a6c8d90"
	e := ev("/ipxe", 200, "g")
	r.Record(mac, "", e)
	r.Record(mac, "", e)
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.Time = time.Now()
	r.Record(mac, uuid, e)
	e.Time = time.Now()
	e.Hardware = Hardware{Serial: "S1"}
	r.Record(mac, "", e)
	if err := r.flush(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if len(s.batches) != 2 {
		t.Fatalf("%d batches, want 2: a new uuid and serial are written at once", len(s.batches))
	}
	m := s.batches[1][0]
	if len(m.Events) != 2 || m.Events[1].Repeats != 2 || m.UUID != uuid || m.Hardware == nil || m.Hardware.Serial != "S1" {
		t.Fatalf("written %+v", m)
	}
}

func TestHostOf(t *testing.T) {
	for addr, want := range map[string]string{
		"10.0.0.1:4000": "10.0.0.1", "10.0.0.1": "10.0.0.1", "[fd00::1]:4000": "[fd00::1]", "fd00::1": "fd00::1",
		"[fd00::1]": "[fd00::1]", "": "", "host:": "host:", "host:x1": "host:x1", ":4000": "", "pipe": "pipe",
	} {
		if got := RemoteHost(addr); got != want {
			t.Errorf("RemoteHost(%q) = %q, want %q", addr, got, want)
		}
	}
}

// TestRecorderRepeatsMatchApply is TestRecorderMatchesMachineApply for
// long runs of repeats: few endpoints, few hosts, times 0-90 s apart,
// operators' commands and reports among them, machines stored before and
// never seen, through Record and RecordTo. After every event the
// recorder's machine (its fast path for a repeat included) is the
// reference's (Machine.apply, which folds every event through Next).
func TestRecorderRepeatsMatchApply(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	event := func() Event {
		now = now.Add(time.Duration(rnd.IntN(90)) * time.Second)
		e := Event{Time: now, Endpoint: []string{"/ipxe", "/ipxe", "/ipxe", "/ignition", "/metadata", "dhcp:ack", EndpointInstalled, EndpointOperator}[rnd.IntN(8)],
			Status: []int{200, 200, 200, 404}[rnd.IntN(4)], Group: "g", Profile: "p", Remote: fmt.Sprintf("10.0.0.%d:%d", rnd.IntN(2), rnd.IntN(60000))}
		if rnd.IntN(5) == 0 {
			e.LocalBoot = true
		}
		if e.Endpoint == EndpointOperator {
			e.State, e.Remote = []State{Installed, Reprovisioning, Failed, Discovered}[rnd.IntN(4)], ""
		}
		if rnd.IntN(10) == 0 {
			e.Hardware = Hardware{Serial: fmt.Sprint("S", rnd.IntN(2))}
		}
		return e
	}
	prev := map[string]Event{}
	macs := []string{"52:54:00:00:00:01", "52:54:00:00:00:02", "52:54:00:00:00:03"}
	stored := []Machine{{Key: macs[2], MAC: macs[2], State: Installed, FirstSeen: t0, LastSeen: t0, LastEndpoint: "/ipxe",
		Events: []Event{{Time: t0, Endpoint: "/ipxe", Status: 200, Group: "g", Profile: "p", Remote: "10.0.0.1:1"}}}}
	ref := map[string]*Machine{}
	for _, m := range stored {
		m.Events = append([]Event(nil), m.Events...)
		ref[m.Key] = &m
	}
	a, b := NewRecorder(&saver{}, stored, nil), NewRecorder(&saver{}, stored, nil)
	handles := map[string]*Handle{}
	repeats := 0
	for i := range 5000 {
		mac := macs[rnd.IntN(len(macs))]
		if rnd.IntN(4) > 0 && i > 0 {
			mac = macs[i%len(macs)] // long runs of one machine
		}
		e := event()
		if p, ok := prev[mac]; ok && rnd.IntN(3) > 0 {
			// the machine's previous request again, from another port
			p.Time, p.Remote = e.Time, fmt.Sprintf("%s:%d", RemoteHost(p.Remote), rnd.IntN(60000))
			e = p
		}
		prev[mac] = e
		if ref[mac] == nil {
			ref[mac] = &Machine{Key: mac}
		}
		wantErr := ref[mac].apply(mac, "", e)
		if e.Endpoint == EndpointOperator || e.Endpoint == EndpointInstalled {
			_, err := a.Apply(mac, "", e)
			b.Apply(mac, "", e)
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("event %d: Apply error %v, reference %v", i, err, wantErr)
			}
		} else {
			a.Record(mac, "", e)
			if h := handles[mac]; h != nil {
				b.RecordTo(h, e)
			} else {
				handles[mac] = b.RecordHandle(mac, "", e)
			}
		}
		want := *ref[mac]
		for name, r := range map[string]*Recorder{"Record": a, "RecordTo": b} {
			got, _ := r.Get(mac)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("event %d %+v, %s: machine %s\n got %+v\nwant %+v", i, e, name, mac, got, want)
			}
		}
		if n := len(want.Events); n > 0 && want.Events[n-1].Repeats > 0 && want.Events[n-1].Last.Equal(e.Time) {
			repeats++
		}
		if i%50 == 0 {
			if err := a.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if repeats < 200 {
		t.Fatalf("only %d repeats counted: the test does not exercise them", repeats)
	}
}
