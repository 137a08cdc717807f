package inventory

import (
	"strconv"
	"strings"
	"time"
)

// MaxEvents bounds the events kept per machine; older ones are dropped.
const MaxEvents = 16

// MaxChanges bounds the state changes kept per machine (its timeline);
// older ones are dropped. A change is rarer than a request, so the
// timeline reaches back much further than the events do.
const MaxChanges = 32

// Event is one request from a machine, or one operator's command about it
// (Endpoint "operator").
type Event struct {
	Time     time.Time `json:"time"`
	Endpoint string    `json:"endpoint"`
	Group    string    `json:"group,omitempty"`
	Profile  string    `json:"profile,omitempty"`
	Remote   string    `json:"remote,omitempty"`
	Status   int       `json:"status"`
	// LocalBoot says that the answer was a script that boots the local
	// disk (the group or profile installs once and the machine is
	// installed), not the group's profile.
	LocalBoot bool `json:"local_boot,omitempty"`
	// State is the state an operator's event asks for; on a recorded
	// event, the state the event moved the machine to ("" if it did not).
	State State `json:"state,omitempty"`
	// Cause says why, in a few words: the operator's reason, or why a
	// report was refused.
	Cause string `json:"cause,omitempty"`
	// Repeats counts the times the same request came again after the
	// first (Time), each within RepeatWindow of the one before, and Last
	// is the time of the newest of them: a machine in a boot loop, or
	// retrying, is one event "x(Repeats+1) from Time to Last" instead of
	// pushing its history out of the MaxEvents kept. Remote is the
	// newest request's. See coalesces for what counts as the same.
	Repeats int       `json:"repeats,omitempty"`
	Last    time.Time `json:"last,omitzero"`
	// Hardware is what the request said of the machine (its query's
	// serial, arch, ...); folded into Machine.Hardware, not kept in the
	// event.
	Hardware Hardware `json:"-"`
}

// Change is one entry of a machine's timeline: when its state changed,
// from what, to what, and why.
type Change struct {
	Time  time.Time `json:"time"`
	From  State     `json:"from,omitempty"`
	To    State     `json:"to"`
	Cause string    `json:"cause"`
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
	// Hardware is what the machine's requests said of it (serial,
	// manufacturer, product, platform, arch), the latest non-empty value
	// of each.
	Hardware *Hardware `json:"hardware,omitempty"`
	Events   []Event   `json:"events,omitempty"`
	// Changes is the state timeline, oldest first (records written before
	// the lifecycle have none).
	Changes []Change `json:"changes,omitempty"`
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

// apply folds one event into m. A boot-side event that its state does not
// allow (a report from a machine that is to be reprovisioned) is recorded
// with the reason, and leaves the state as it was; apply returns the
// reason. An operator's command or a BMC operation is not a sighting of
// the machine: it leaves FirstSeen, LastSeen and LastEndpoint alone.
//
// apply is the plain reference of what a Recorder does (the recorder keeps
// events in a ring and has a fast path for a repeat, repeat.go): an event
// that repeats the newest one (event.takes) is counted on it.
func (m *Machine) apply(mac, uuid string, e Event) error {
	e, err := m.fold(mac, uuid, e)
	if n := len(m.Events); n > 0 && err == nil {
		if k := kept(&m.Events[n-1], m.Group, m.Profile); !k.takes(&e, m.Group, m.Profile) {
			goto keep
		}
		last := &m.Events[n-1]
		last.Repeats++
		last.Last, last.Remote = e.Time, e.Remote
		return nil
	}
keep:
	if len(m.Events) >= MaxEvents {
		copy(m.Events, m.Events[1:])
		m.Events = m.Events[:MaxEvents-1]
	}
	m.Events = append(m.Events, e)
	return err
}

// fold is apply without keeping the event: it returns the event as it is
// to be kept (its Hardware cleared, its State and Cause set), for the
// caller to append (the Recorder keeps events in a ring, record.add).
func (m *Machine) fold(mac, uuid string, e Event) (Event, error) {
	// The machine's own copies (mac and uuid may be substrings of a
	// request's query), made only when they change.
	if mac != "" && mac != m.MAC {
		if m.MAC = mac; mac == m.Key {
			m.MAC = m.Key
		} else {
			m.MAC = strings.Clone(mac)
		}
	}
	if uuid != "" && uuid != m.UUID {
		m.UUID = strings.Clone(uuid)
	}
	if e.sighting() {
		if m.FirstSeen.IsZero() {
			m.FirstSeen = e.Time
		}
		m.LastSeen = e.Time
		if e.Last.After(e.Time) {
			// an event that counts repeats (a replica's, merged)
			m.LastSeen = e.Last
		}
		m.LastEndpoint = e.Endpoint
		if e.Group != "" {
			m.Group, m.Profile = e.Group, e.Profile
		}
		if !e.Hardware.IsZero() {
			if m.Hardware == nil {
				m.Hardware = &Hardware{}
			}
			m.Hardware.merge(e.Hardware)
		}
	}
	e.Hardware = Hardware{}
	to, err := Next(m.State, e)
	if err != nil {
		if e.Cause == "" {
			e.Cause = err.Error()
		}
		e.State = ""
	} else {
		e.State = ""
		if to != m.State {
			// A BMC operation or a mark on a machine never seen creates
			// its record (discovered) without being what discovered it.
			if e.sighting() || m.State != "" || to != Discovered {
				e.State = to
			}
			m.change(e, to)
		}
	}
	return e, err
}

// change moves m to state to and adds the change to its timeline.
func (m *Machine) change(e Event, to State) {
	from := m.State
	m.State = to
	c, ok := changeFor(&e, from, to)
	if !ok {
		return
	}
	if len(m.Changes) >= MaxChanges {
		copy(m.Changes, m.Changes[1:])
		m.Changes = m.Changes[:MaxChanges-1]
	}
	m.Changes = append(m.Changes, c)
}

// changeFor returns the timeline's entry of event e moving a machine
// from state from to state to, and false for none: a machine's first
// sighting is its first_seen, not a change.
func changeFor(e *Event, from, to State) (Change, bool) {
	if from == "" && to == Discovered {
		return Change{}, false
	}
	cause := e.Cause
	switch {
	case e.Endpoint == EndpointOperator && cause == "":
		cause = "operator"
	case e.Endpoint == EndpointOperator:
		cause = "operator: " + cause
	case cause == "":
		cause = e.Endpoint
		if e.Status != 0 && e.Status != 200 {
			cause += " " + strconv.Itoa(e.Status)
		}
	}
	return Change{Time: e.Time, From: from, To: to, Cause: cause}, true
}
