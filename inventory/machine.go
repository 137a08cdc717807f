package inventory

import (
	"strings"
	"time"
)

// State is where a machine stands in its boot, derived from its events.
type State string

// The states.
const (
	// Discovered: the machine asked, and no group matched it.
	Discovered State = "discovered"
	// Booting: the machine fetched its boot script (/ipxe or /grub).
	Booting State = "booting"
	// Configured: the machine fetched its Ignition, cloud-config or generic
	// config.
	Configured State = "configured"
)

func (s State) String() string { return string(s) }

// MaxEvents bounds the events kept per machine; older ones are dropped.
const MaxEvents = 16

// Event is one request from a machine.
type Event struct {
	Time     time.Time `json:"time"`
	Endpoint string    `json:"endpoint"`
	Group    string    `json:"group,omitempty"`
	Profile  string    `json:"profile,omitempty"`
	Remote   string    `json:"remote,omitempty"`
	Status   int       `json:"status"`
}

// Machine is what provisiond knows of a machine from its requests.
type Machine struct {
	// Key is the mac, or "uuid:<uuid>" for a machine that sent no mac.
	Key          string    `json:"key"`
	MAC          string    `json:"mac,omitempty"`
	UUID         string    `json:"uuid,omitempty"`
	FirstSeen    time.Time `json:"first_seen"`
	LastSeen     time.Time `json:"last_seen"`
	LastEndpoint string    `json:"last_endpoint"`
	Group        string    `json:"group,omitempty"`
	Profile      string    `json:"profile,omitempty"`
	State        State     `json:"state"`
	Events       []Event   `json:"events,omitempty"`
}

// Key returns the inventory key of a machine, "" when it has neither mac
// nor uuid.
func Key(mac, uuid string) string {
	switch {
	case mac != "":
		return mac
	case uuid != "":
		return "uuid:" + uuid
	}
	return ""
}

// apply folds one event into m.
func (m *Machine) apply(mac, uuid string, e Event) {
	if m.FirstSeen.IsZero() {
		m.FirstSeen = e.Time
	}
	if mac != "" {
		m.MAC = mac
	}
	if uuid != "" {
		m.UUID = uuid
	}
	m.LastSeen = e.Time
	m.LastEndpoint = e.Endpoint
	if e.Group != "" {
		m.Group, m.Profile = e.Group, e.Profile
	}
	m.State = next(m.State, e)
	if len(m.Events) >= MaxEvents {
		copy(m.Events, m.Events[1:])
		m.Events = m.Events[:MaxEvents-1]
	}
	m.Events = append(m.Events, e)
}

// next derives the state after event e.
func next(s State, e Event) State {
	if !strings.HasPrefix(e.Endpoint, "/") {
		// Not an HTTP boot endpoint: DHCP and TFTP ("dhcp:offer",
		// "tftp:ipxe.efi") say a machine is on the wire, never what it
		// was given; a TFTP miss (404) is not "matched no group".
		if s == "" {
			return Discovered
		}
		return s
	}
	if e.Group == "" && e.Status == 404 {
		return Discovered
	}
	if e.Status >= 300 {
		if s == "" {
			return Discovered
		}
		return s
	}
	switch e.Endpoint {
	case "/ipxe", "/grub":
		return Booting
	case "/ignition", "/cloud", "/generic":
		return Configured
	}
	if s == "" {
		return Discovered
	}
	return s
}
