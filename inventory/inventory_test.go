package inventory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// saver is a fake store: it records every batch and can fail.
type saver struct {
	mu      sync.Mutex
	batches [][]Machine
	fail    error
}

func (s *saver) SaveMachines(ctx context.Context, ms []Machine) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.batches = append(s.batches, ms)
	return nil
}

func ev(endpoint string, status int, group string) Event {
	return Event{Time: time.Now(), Endpoint: endpoint, Status: status, Group: group, Profile: group}
}

// evFrom is ev from host i (10.0.x.y): requests from distinct hosts are
// distinct events, never counted as repeats of each other.
func evFrom(i int, endpoint string, status int, group string) Event {
	e := ev(endpoint, status, group)
	e.Remote = fmt.Sprintf("10.0.%d.%d:4000", i/256, i%256)
	return e
}

func TestStates(t *testing.T) {
	tests := []struct {
		name   string
		events []Event
		want   State
	}{
		{"nothing matched", []Event{ev("/ipxe", 404, "")}, Discovered},
		{"boot script", []Event{ev("/ipxe", 200, "g")}, Booting},
		{"grub", []Event{ev("/grub", 200, "g")}, Booting},
		{"ignition", []Event{ev("/ipxe", 200, "g"), ev("/ignition", 200, "g")}, Configured},
		{"cloud", []Event{ev("/ipxe", 200, "g"), ev("/cloud", 200, "g")}, Configured},
		{"generic", []Event{ev("/generic", 200, "g")}, Configured},
		{"reboot", []Event{ev("/ipxe", 200, "g"), ev("/ignition", 200, "g"), ev("/ipxe", 200, "g")}, Booting},
		{"failed config keeps booting", []Event{ev("/ipxe", 200, "g"), ev("/ignition", 500, "g")}, Booting},
		{"metadata alone", []Event{ev("/metadata", 200, "g")}, Discovered},
		{"metadata keeps configured", []Event{ev("/ignition", 200, "g"), ev("/metadata", 200, "g")}, Configured},
		{"first request fails", []Event{ev("/ipxe", 503, "g")}, Discovered},
		{"dhcp first", []Event{ev("dhcp:offer", 200, "")}, Discovered},
		{"dhcp and tftp keep configured", []Event{ev("/ignition", 200, "g"), ev("dhcp:ack", 200, ""), ev("tftp:ipxe.efi", 200, "")}, Configured},
		{"tftp miss keeps booting", []Event{ev("/ipxe", 200, "g"), ev("tftp:ipxe.efi", 404, "")}, Booting},
		{"dhcp nak keeps configured", []Event{ev("/ignition", 200, "g"), ev("dhcp:nak", 409, "")}, Configured},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Machine
			for _, e := range tc.events {
				m.apply("52:54:00:00:00:01", "", e)
			}
			if m.State != tc.want {
				t.Errorf("state %q, want %q", m.State, tc.want)
			}
		})
	}
}

func TestRecorderBatchesAndBounds(t *testing.T) {
	s := &saver{}
	r := NewRecorder(s, nil, nil)
	for i := range MaxEvents + 5 {
		r.Record("52:54:00:00:00:01", "", evFrom(i, "/ipxe", 200, "g"))
	}
	r.Record("52:54:00:00:00:02", "11111111-2222-3333-4444-555555555555", ev("/ignition", 200, "h"))
	r.Record("", "", ev("/ipxe", 200, "g")) // neither mac nor uuid: not recorded
	r.Record("", "aaaaaaaa-2222-3333-4444-555555555555", ev("/ipxe", 404, ""))
	if len(s.batches) != 0 {
		t.Fatal("Record wrote to the store")
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(s.batches) != 1 || len(s.batches[0]) != 3 {
		t.Fatalf("batches: %v", s.batches)
	}
	m, ok := r.Get("52:54:00:00:00:01")
	if !ok || len(m.Events) != MaxEvents || m.State != Booting || m.FirstSeen.After(m.LastSeen) {
		t.Fatalf("machine 1: %+v", m)
	}
	if m, _ := r.Get("uuid:aaaaaaaa-2222-3333-4444-555555555555"); m.State != Discovered {
		t.Errorf("uuid-only machine: %+v", m)
	}
	// Nothing changed: no write.
	r.Flush(t.Context())
	if len(s.batches) != 1 {
		t.Errorf("an empty flush wrote a batch")
	}
	if n := r.CountByState(); n[Booting] != 1 || n[Configured] != 1 || n[Discovered] != 1 {
		t.Errorf("counts %v", n)
	}
	if l := r.List(); len(l) != 3 || l[0].Key > l[1].Key {
		t.Errorf("list %v", l)
	}
}

func TestRecorderRetriesAfterStoreError(t *testing.T) {
	s := &saver{fail: errors.New("disk on fire")}
	r := NewRecorder(s, nil, nil)
	r.Record("52:54:00:00:00:01", "", ev("/ipxe", 200, "g"))
	if err := r.Flush(t.Context()); err == nil {
		t.Fatal("flush succeeded")
	}
	s.fail = nil
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(s.batches) != 1 || s.batches[0][0].Key != "52:54:00:00:00:01" {
		t.Fatalf("the failed batch was not retried: %v", s.batches)
	}
}

func TestRecorderRunFlushesOnStop(t *testing.T) {
	s := &saver{}
	r := NewRecorder(s, []Machine{{Key: "52:54:00:00:00:09", MAC: "52:54:00:00:00:09", State: Configured}}, nil)
	r.Interval = time.Hour
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	r.Record("52:54:00:00:00:09", "", ev("/ipxe", 200, "g"))
	cancel()
	<-done
	if len(s.batches) != 1 || s.batches[0][0].State != Booting || len(s.batches[0][0].Events) != 1 {
		t.Fatalf("batches %v", s.batches)
	}
}

func TestRecorderConcurrent(t *testing.T) {
	s := &saver{}
	r := NewRecorder(s, nil, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				r.Record("52:54:00:00:00:0"+string(rune('0'+g)), "", ev("/ipxe", 200, "g"))
				if i%50 == 0 {
					r.Flush(context.Background())
				}
			}
		}()
	}
	wg.Wait()
	r.Flush(t.Context())
	if len(r.List()) != 8 {
		t.Fatalf("%d machines", len(r.List()))
	}
}

// TestHardwareFacts: the facts of a machine's requests are kept, the
// latest non-empty value of each; an unset iPXE variable (empty) keeps
// what was known; operators' and BMC events carry none; long values are
// cut.
func TestHardwareFacts(t *testing.T) {
	r := NewRecorder(nil, nil, nil)
	const mac = "52:54:00:00:00:09"
	q := map[string]string{"serial": "SN-1", "arch": "i386", "manufacturer": ""}
	r.Record(mac, "", Event{Endpoint: "/ipxe", Status: 200, Hardware: HardwareFrom(func(k string) string { return q[k] })})
	q = map[string]string{"serial": "", "arch": "x86_64", "product": strings.Repeat("p", 100)}
	r.Record(mac, "", Event{Endpoint: "/ipxe", Status: 200, Hardware: HardwareFrom(func(k string) string { return q[k] })})
	if _, err := r.Apply(mac, "", Event{Endpoint: EndpointOperator, Status: 200, State: Installed, Hardware: Hardware{Serial: "operator"}}); err != nil {
		t.Fatal(err)
	}
	m, _ := r.Get(mac)
	want := Hardware{Serial: "SN-1", Arch: "x86_64", Product: strings.Repeat("p", MaxHardwareValue)}
	if m.Hardware == nil || *m.Hardware != want {
		t.Fatalf("hardware %+v, want %+v", m.Hardware, want)
	}
	for _, e := range m.Events {
		if !e.Hardware.IsZero() {
			t.Errorf("event %+v keeps hardware facts", e)
		}
	}
	other := NewRecorder(nil, nil, nil)
	other.Record("52:54:00:00:00:0a", "", Event{Endpoint: "/ipxe", Status: 200})
	if m, _ := other.Get("52:54:00:00:00:0a"); m.Hardware != nil {
		t.Errorf("a request without facts made hardware %+v", m.Hardware)
	}
}

// TestFirstEventNotASighting: a BMC operation on a machine never seen
// creates its record, discovered, without the event claiming that move;
// an operator's mark on one is a real change.
func TestFirstEventNotASighting(t *testing.T) {
	r := NewRecorder(nil, nil, nil)
	m, _ := r.Apply("52:54:00:00:00:0b", "", Event{Endpoint: EndpointBMC + "on", Status: 200})
	if m.State != Discovered || m.Events[0].State != "" || len(m.Changes) != 0 {
		t.Errorf("after a first BMC event: state %s, event %+v, changes %+v", m.State, m.Events[0], m.Changes)
	}
	m, _ = r.Apply("52:54:00:00:00:0c", "", Event{Endpoint: EndpointOperator, Status: 200, State: Installed})
	if m.State != Installed || m.Events[0].State != Installed || len(m.Changes) != 1 {
		t.Errorf("after a first mark: state %s, event %+v, changes %+v", m.State, m.Events[0], m.Changes)
	}
}
