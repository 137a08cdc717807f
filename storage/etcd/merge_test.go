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
