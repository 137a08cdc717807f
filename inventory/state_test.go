package inventory

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestNext is the lifecycle's table: which event moves which state.
func TestNext(t *testing.T) {
	boot := func(ep string, status int) Event { return Event{Endpoint: ep, Status: status, Group: "g"} }
	miss := Event{Endpoint: "/ipxe", Status: 404}
	disk := Event{Endpoint: "/ipxe", Status: 200, Group: "g", LocalBoot: true}
	op := func(to State) Event { return Event{Endpoint: EndpointOperator, State: to} }
	tests := []struct {
		name string
		from State
		e    Event
		want State
		err  error
	}{
		// observed
		{"first boot script", "", boot("/ipxe", 200), Booting, nil},
		{"grub", Discovered, boot("/grub", 200), Booting, nil},
		{"config after boot", Booting, boot("/ignition", 200), Configured, nil},
		{"cloud", Booting, boot("/cloud", 200), Configured, nil},
		{"generic without boot script", "", boot("/generic", 200), Configured, nil},
		{"reboot starts over", Configured, boot("/ipxe", 200), Booting, nil},
		{"miss on first contact", "", miss, Discovered, nil},
		{"miss after boot", Booting, miss, Discovered, nil},
		{"failed config keeps booting", Booting, boot("/ignition", 500), Booting, nil},
		{"metadata keeps", Configured, boot("/metadata", 200), Configured, nil},
		{"dhcp first", "", Event{Endpoint: "dhcp:offer", Status: 200}, Discovered, nil},
		{"tftp keeps", Configured, Event{Endpoint: "tftp:ipxe.efi", Status: 404}, Configured, nil},

		// reports
		{"installed from configured", Configured, boot(EndpointInstalled, 200), Installed, nil},
		{"installed from booting (an installer without a config)", Booting, boot(EndpointInstalled, 200), Installed, nil},
		{"installed twice", Installed, boot(EndpointInstalled, 200), Installed, nil},
		{"installed of a machine never seen", "", Event{Endpoint: EndpointInstalled, Status: 200}, Installed, nil},
		{"installed after failing", Failed, boot(EndpointInstalled, 200), Installed, nil},
		{"failed", Configured, boot(EndpointFailed, 200), Failed, nil},
		{"refused report (bad token) keeps", Configured, boot(EndpointInstalled, 403), Configured, nil},
		{"report during reprovisioning is stale", Reprovisioning, boot(EndpointInstalled, 200), Reprovisioning, ErrTransition},
		{"failure during reprovisioning is stale", Reprovisioning, boot(EndpointFailed, 200), Reprovisioning, ErrTransition},

		// installed machines
		{"installed boots its disk", Installed, disk, Installed, nil},
		{"installed without install-once boots the installer", Installed, boot("/ipxe", 200), Booting, nil},
		{"installed OS fetching its config (os=installed)", Installed, boot("/ignition", 200), Installed, nil},
		{"installed machine whose group went away", Installed, miss, Installed, nil},
		{"installed, dhcp", Installed, Event{Endpoint: "dhcp:ack", Status: 200}, Installed, nil},

		// reprovisioning
		{"reprovisioning until the installer boots", Reprovisioning, boot("/ignition", 200), Reprovisioning, nil},
		{"reprovisioning, a miss", Reprovisioning, miss, Reprovisioning, nil},
		{"reprovisioning ends at the boot script", Reprovisioning, boot("/ipxe", 200), Booting, nil},
		{"failed starts over at the boot script", Failed, boot("/grub", 200), Booting, nil},
		{"failed keeps on a config", Failed, boot("/cloud", 200), Failed, nil},

		// operators
		{"operator marks installed", Configured, op(Installed), Installed, nil},
		{"operator adopts an unseen machine", "", op(Installed), Installed, nil},
		{"operator reprovisions", Installed, op(Reprovisioning), Reprovisioning, nil},
		{"operator fails", Booting, op(Failed), Failed, nil},
		{"operator resets", Failed, op(Discovered), Discovered, nil},
		{"operator may not set booting", Installed, op(Booting), Installed, ErrState},
		{"operator may not set configured", Installed, op(Configured), Installed, ErrState},
		{"operator may not set nonsense", Installed, op("bogus"), Installed, ErrState},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Next(tc.from, tc.e)
			if !errors.Is(err, tc.err) || (err != nil) != (tc.err != nil) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if got != tc.want {
				t.Errorf("Next(%q, %s %d) = %q, want %q", tc.from, tc.e.Endpoint, tc.e.Status, got, tc.want)
			}
		})
	}
}

// TestTimeline runs a whole install, install-once boot, reprovision and
// second install through a Recorder, and checks the timeline it keeps.
func TestTimeline(t *testing.T) {
	s := &saver{}
	r := NewRecorder(s, nil, nil)
	const mac = "52:54:00:00:00:07"
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	r.Record(mac, "", Event{Time: at(0), Endpoint: "dhcp:offer", Status: 200})
	r.Record(mac, "", Event{Time: at(1), Endpoint: "/ipxe", Status: 200, Group: "install", Profile: "installer"})
	r.Record(mac, "", Event{Time: at(2), Endpoint: "/ignition", Status: 200, Group: "install", Profile: "installer"})
	if _, err := r.Apply(mac, "", Event{Time: at(9), Endpoint: EndpointInstalled, Status: 200}); err != nil {
		t.Fatal(err)
	}
	r.Record(mac, "", Event{Time: at(10), Endpoint: "/ipxe", Status: 200, Group: "install", Profile: "installer", LocalBoot: true})
	m, _ := r.Get(mac)
	if m.State != Installed || !BootDisk(m, true) || BootDisk(m, false) || r.State(mac) != Installed || r.State("52:54:00:00:00:99") != "" {
		t.Fatalf("after install and a disk boot: %+v", m)
	}
	if _, err := r.Apply(mac, "", Event{Time: at(20), Endpoint: EndpointOperator, State: Reprovisioning, Cause: "new disk"}); err != nil {
		t.Fatal(err)
	}
	// A late report from the old OS is refused, and recorded as refused.
	if _, err := r.Apply(mac, "", Event{Time: at(21), Endpoint: EndpointInstalled, Status: 200}); !errors.Is(err, ErrTransition) {
		t.Fatalf("stale report: %v", err)
	}
	m, _ = r.Get(mac)
	if BootDisk(m, true) {
		t.Fatal("a machine to be reprovisioned boots its disk")
	}
	if last := m.Events[len(m.Events)-1]; last.State != "" || !strings.Contains(last.Cause, "reprovisioned") {
		t.Errorf("refused report recorded as %+v", last)
	}
	r.Record(mac, "", Event{Time: at(22), Endpoint: "/ipxe", Status: 200, Group: "install", Profile: "installer"})
	r.Record(mac, "", Event{Time: at(23), Endpoint: "/ignition", Status: 200, Group: "install", Profile: "installer"})
	m, err := r.Apply(mac, "", Event{Time: at(30), Endpoint: EndpointInstalled, Status: 200})
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{
		{at(1), Discovered, Booting, "/ipxe"},
		{at(2), Booting, Configured, "/ignition"},
		{at(9), Configured, Installed, "/installed"},
		{at(20), Installed, Reprovisioning, "operator: new disk"},
		{at(22), Reprovisioning, Booting, "/ipxe"},
		{at(23), Booting, Configured, "/ignition"},
		{at(30), Configured, Installed, "/installed"},
	}
	if len(m.Changes) != len(want) {
		t.Fatalf("changes:\n%+v\nwant\n%+v", m.Changes, want)
	}
	for i := range want {
		if m.Changes[i] != want[i] {
			t.Errorf("change %d: %+v, want %+v", i, m.Changes[i], want[i])
		}
	}
	// The operator's command is not a sighting.
	if !m.LastSeen.Equal(at(30)) || m.LastEndpoint != EndpointInstalled {
		t.Errorf("last seen %v %s", m.LastSeen, m.LastEndpoint)
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := r.CountByState(); n[Installed] != 1 || len(n) != len(States) {
		t.Errorf("counts %v", n)
	}
}

func TestChangesBounded(t *testing.T) {
	var m Machine
	for i := range MaxChanges + 10 {
		ep := "/ipxe"
		if i%2 == 1 {
			ep = "/ignition"
		}
		m.apply("52:54:00:00:00:01", "", Event{Time: time.Unix(int64(i), 0).UTC(), Endpoint: ep, Status: 200, Group: "g"})
	}
	if len(m.Changes) != MaxChanges || m.Changes[len(m.Changes)-1].Time.Unix() != MaxChanges+9 {
		t.Fatalf("%d changes, last %v", len(m.Changes), m.Changes[len(m.Changes)-1])
	}
}

// TestOldRecordsLoad: records written before the lifecycle (no state, no
// changes) load with a state derived from their events or last endpoint,
// and a record of an unknown state (a newer version's) is derived too.
func TestOldRecordsLoad(t *testing.T) {
	old := []string{
		`{"key":"52:54:00:00:00:01","mac":"52:54:00:00:00:01","first_seen":"2026-01-01T00:00:00Z","last_seen":"2026-01-01T00:01:00Z","last_endpoint":"/ignition","group":"g","profile":"p","events":[{"time":"2026-01-01T00:00:00Z","endpoint":"/ipxe","group":"g","profile":"p","status":200},{"time":"2026-01-01T00:01:00Z","endpoint":"/ignition","group":"g","profile":"p","status":200}]}`,
		`{"key":"52:54:00:00:00:02","mac":"52:54:00:00:00:02","first_seen":"2026-01-01T00:00:00Z","last_seen":"2026-01-01T00:00:00Z","last_endpoint":"/ipxe","group":"g"}`,
		`{"key":"52:54:00:00:00:03","mac":"52:54:00:00:00:03","first_seen":"2026-01-01T00:00:00Z","last_seen":"2026-01-01T00:00:00Z","last_endpoint":"/boot.ipxe","state":""}`,
		`{"key":"52:54:00:00:00:04","mac":"52:54:00:00:00:04","first_seen":"2026-01-01T00:00:00Z","last_seen":"2026-01-01T00:00:00Z","last_endpoint":"/ipxe","group":"g","state":"hibernating"}`,
		`{"key":"52:54:00:00:00:05","mac":"52:54:00:00:00:05","first_seen":"2026-01-01T00:00:00Z","last_seen":"2026-01-01T00:00:00Z","last_endpoint":"/ipxe","state":"configured"}`,
	}
	want := []State{Configured, Booting, Discovered, Booting, Configured}
	var ms []Machine
	for _, raw := range old {
		var m Machine
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	r := NewRecorder(&saver{}, ms, nil)
	for i, m := range r.List() {
		if m.State != want[i] {
			t.Errorf("%s: state %q, want %q", m.Key, m.State, want[i])
		}
		// and it writes back what encoding/json reads
		b, err := m.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		var back Machine
		if err := json.Unmarshal(b, &back); err != nil || back.State != m.State || len(back.Events) != len(m.Events) {
			t.Errorf("%s: round trip %+v, %v", m.Key, back, err)
		}
	}
}

func TestParseState(t *testing.T) {
	for _, s := range States {
		if got, err := ParseState(strings.ToUpper(string(s))); err != nil || got != s {
			t.Errorf("ParseState(%q) = %q, %v", s, got, err)
		}
	}
	if _, err := ParseState("installing"); err == nil || !strings.Contains(err.Error(), "reprovisioning") {
		t.Errorf("bad state: %v", err)
	}
}

func TestOverdue(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		m    Machine
		now  time.Time
		want bool
	}{
		{"configured long ago", Machine{State: Configured, LastSeen: t0}, t0.Add(2 * time.Hour), true},
		{"configured recently", Machine{State: Configured, LastSeen: t0}, t0.Add(10 * time.Minute), false},
		{"reprovisioning since the command", Machine{State: Reprovisioning, LastSeen: t0, Changes: []Change{{Time: t0.Add(90 * time.Minute), To: Reprovisioning}}}, t0.Add(2 * time.Hour), false},
		{"installed never overdue", Machine{State: Installed, LastSeen: t0}, t0.Add(100 * time.Hour), false},
		{"discovered never overdue", Machine{State: Discovered, LastSeen: t0}, t0.Add(100 * time.Hour), false},
		{"never seen", Machine{State: Booting}, t0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Overdue(tc.m, tc.now, time.Hour); got != tc.want {
				t.Errorf("Overdue = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLocalBootScripts(t *testing.T) {
	if !strings.HasPrefix(LocalBootIPXE, "#!ipxe\n") || !strings.HasSuffix(LocalBootIPXE, "\nexit\n") {
		t.Errorf("iPXE script %q", LocalBootIPXE)
	}
	if !strings.HasSuffix(LocalBootGRUB, "\nexit\n") {
		t.Errorf("GRUB script %q", LocalBootGRUB)
	}
}
