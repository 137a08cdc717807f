package etcd

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/provisiond/provisiond/inventory"
)

// record returns the record a recorder keeps after events at t0+seconds.
func record(mac string, t0 time.Time, events ...any) inventory.Machine {
	r := inventory.NewRecorder(nil, nil, nil)
	for i := 0; i < len(events); i += 2 {
		r.Record(mac, "", inventory.Event{Time: t0.Add(time.Duration(events[i].(int)) * time.Second),
			Endpoint: events[i+1].(string), Group: "g", Profile: "p", Status: 200})
	}
	m, _ := r.Get(mac)
	return m
}

func endpoints(m inventory.Machine) string {
	var out []string
	for _, e := range m.Events {
		out = append(out, e.Endpoint)
	}
	return fmt.Sprint(out)
}

func TestMergeMachine(t *testing.T) {
	const mac = "52:54:00:00:00:01"
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	full := record(mac, t0, 0, "/ipxe", 1, "/ignition", 2, "/metadata")
	older := record(mac, t0, 0, "/ipxe")

	t.Run("itself", func(t *testing.T) {
		if got := mergeMachine(full, full); !reflect.DeepEqual(got, full) {
			t.Errorf("merge with itself:\n got %+v\nwant %+v", got, full)
		}
	})
	t.Run("older copy of itself", func(t *testing.T) {
		for _, got := range []inventory.Machine{mergeMachine(older, full), mergeMachine(full, older)} {
			if !reflect.DeepEqual(got, full) {
				t.Errorf("merge with an older copy:\n got %+v\nwant %+v", got, full)
			}
		}
	})
	t.Run("state in event order", func(t *testing.T) {
		// A saw /ipxe and later a DHCP request; B saw /ignition between
		// them. In order the machine is configured: DHCP changes nothing.
		a := record(mac, t0, 0, "/ipxe", 2, "dhcp:request")
		b := record(mac, t0, 1, "/ignition")
		for _, got := range []inventory.Machine{mergeMachine(a, b), mergeMachine(b, a)} {
			if got.State != inventory.Configured || got.LastEndpoint != "dhcp:request" || !got.LastSeen.Equal(t0.Add(2*time.Second)) ||
				!got.FirstSeen.Equal(t0) || endpoints(got) != "[/ipxe /ignition dhcp:request]" {
				t.Errorf("merged: state %s, last %s at %v, first %v, events %s", got.State, got.LastEndpoint, got.LastSeen, got.FirstSeen, endpoints(got))
			}
		}
	})
	t.Run("latest MaxEvents kept", func(t *testing.T) {
		var ea, eb []any
		for i := range 12 {
			ea = append(ea, 2*i, fmt.Sprintf("/a%d", i))
			eb = append(eb, 2*i+1, fmt.Sprintf("/b%d", i))
		}
		got := mergeMachine(record(mac, t0, ea...), record(mac, t0, eb...))
		if len(got.Events) != inventory.MaxEvents {
			t.Fatalf("%d events, want %d", len(got.Events), inventory.MaxEvents)
		}
		if first, last := got.Events[0], got.Events[len(got.Events)-1]; first.Endpoint != "/a4" || last.Endpoint != "/b11" {
			t.Errorf("events run from %s to %s, want /a4 to /b11 (the latest %d of 24)", first.Endpoint, last.Endpoint, inventory.MaxEvents)
		}
		for i := 1; i < len(got.Events); i++ {
			if got.Events[i].Time.Before(got.Events[i-1].Time) {
				t.Fatalf("events out of order: %s", endpoints(got))
			}
		}
	})
}

// TestMergeRepeats: two replicas' copies of a machine whose requests
// repeat (inventory.Event.Repeats). The copies of one counted event
// differ in Repeats, Last and Remote's port: the merge keeps one, the
// one that counted more; merging is commutative, a record merged with
// itself is the record, and merging the result with either side again
// changes nothing.
func TestMergeRepeats(t *testing.T) {
	const mac = "52:54:00:00:00:01"
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	ipxe := func(s, port int) inventory.Event {
		return inventory.Event{Time: at(s), Endpoint: "/ipxe", Group: "g", Profile: "p", Remote: fmt.Sprint("10.0.0.1:", port), Status: 200}
	}
	base := inventory.NewRecorder(nil, nil, nil)
	base.Record(mac, "", ipxe(0, 1))
	base.Record(mac, "", ipxe(1, 2))
	base.Record(mac, "", ipxe(2, 3))
	stored, _ := base.Get(mac) // [/ipxe (booting), /ipxe x2]

	// Both replicas load it; the machine asks each again.
	a := inventory.NewRecorder(nil, []inventory.Machine{stored}, nil)
	b := inventory.NewRecorder(nil, []inventory.Machine{stored}, nil)
	a.Record(mac, "", ipxe(3, 4))
	a.Record(mac, "", ipxe(4, 5))
	b.Record(mac, "", ipxe(5, 6))
	ma, _ := a.Get(mac)
	mb, _ := b.Get(mac)
	if len(ma.Events) != 2 || ma.Events[1].Repeats != 3 || len(mb.Events) != 2 || mb.Events[1].Repeats != 2 {
		t.Fatalf("replicas: %+v\n%+v", ma.Events, mb.Events)
	}
	check := func(name string, got, want inventory.Machine) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
		}
	}
	ab, ba := mergeMachine(ma, mb), mergeMachine(mb, ma)
	check("b into a, a into b", ab, ba)
	if len(ab.Events) != 2 || !ab.LastSeen.Equal(at(5)) {
		t.Errorf("merged: %+v", ab)
	}
	// b's copy ends later (at 5 s), a's counted more (3): a's is kept.
	if e := ab.Events[1]; e.Repeats != 3 || !e.Last.Equal(at(4)) || e.Remote != "10.0.0.1:5" {
		t.Errorf("merged the counted event as %+v, want a's", e)
	}
	check("a with itself", mergeMachine(ma, ma), ma)
	check("merged with a again", mergeMachine(ab, ma), ab)
	check("a with the merged", mergeMachine(ma, ab), ab)
	check("merged with b again", mergeMachine(ab, mb), ab)
	check("the stored record with a", mergeMachine(stored, ma), ma)

	// Each replica then sees other requests too: the events of both, the
	// counted one once.
	a.Record(mac, "", inventory.Event{Time: at(6), Endpoint: "/ignition", Group: "g", Profile: "p", Remote: "10.0.0.1:7", Status: 200})
	b.Record(mac, "", inventory.Event{Time: at(7), Endpoint: "/metadata", Group: "g", Profile: "p", Remote: "10.0.0.1:8", Status: 200})
	b.Record(mac, "", inventory.Event{Time: at(8), Endpoint: "/metadata", Group: "g", Profile: "p", Remote: "10.0.0.1:9", Status: 200})
	ma, _ = a.Get(mac)
	mb, _ = b.Get(mac)
	ab, ba = mergeMachine(ma, mb), mergeMachine(mb, ma)
	check("b into a, a into b, after more", ab, ba)
	if endpoints(ab) != "[/ipxe /ipxe /ignition /metadata]" || ab.Events[1].Repeats != 3 || ab.Events[3].Repeats != 1 || ab.State != inventory.Configured {
		t.Errorf("merged after more: state %s, %+v", ab.State, ab.Events)
	}
	check("merged with a again, after more", mergeMachine(ab, ma), ab)
	check("merged with b again, after more", mergeMachine(mb, ab), ab)

	// Copies that counted as many but differ in their last repeat: the
	// later one, whichever comes first.
	x, y := ipxe(1, 2), ipxe(1, 3)
	x.Repeats, x.Last = 4, at(9)
	y.Repeats, y.Last = 4, at(10)
	for _, got := range [][]inventory.Event{mergeEvents([]inventory.Event{x}, []inventory.Event{y}), mergeEvents([]inventory.Event{y}, []inventory.Event{x})} {
		if len(got) != 1 || got[0] != y {
			t.Errorf("merged %+v, want %+v", got, y)
		}
	}
}
