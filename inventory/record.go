package inventory

import (
	"slices"
	"strings"
)

// fold is Machine.fold on the record: it folds e into the machine and its
// timeline and returns the event as it is to be kept, for the caller to
// add or count. Machine.fold is the reference; TestRecorderMatchesMachineApply
// and TestRepeatsRandom compare the two.
func (rec *record) fold(mac, uuid string, e Event) (Event, error) {
	m := &rec.m
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
	was := m.label()
	l := was
	if e.sighting() {
		if m.first == zeroStamp || (m.first == wideStamp && m.x.first.IsZero()) { // a stamp is never IsZero: year 1 is out of its range
			m.setFirstSeen(e.Time)
		}
		if e.Last.After(e.Time) {
			// an event that counts repeats (a replica's, merged)
			m.setLastSeen(e.Last)
		} else {
			m.setLastSeen(e.Time)
		}
		l.lastEndpoint = e.Endpoint
		if e.Group != "" && (e.Group != m.Group || e.Profile != l.profile) {
			for i := range rec.ev {
				rec.ev[i].ungroup(m.Group, l.profile)
			}
			m.Group, l.profile = e.Group, e.Profile
		}
		if !m.Hardware.covers(e.Hardware) {
			var h Hardware
			if m.Hardware != nil {
				h = *m.Hardware
			}
			h.merge(e.Hardware)
			m.Hardware = hardwareOf(&h)
		}
	}
	e.Hardware = Hardware{}
	to, err := Next(l.state, e)
	if err != nil {
		if e.Cause == "" {
			e.Cause = err.Error()
		}
		e.State = ""
	} else {
		e.State = ""
		if to != l.state {
			// A BMC operation or a mark on a machine never seen creates
			// its record (discovered) without being what discovered it.
			if e.sighting() || l.state != "" || to != Discovered {
				e.State = to
			}
			if c, ok := changeFor(&e, l.state, to); ok {
				rec.change(&c)
			}
			l.state = to
		}
	}
	if l != was {
		m.lab = machineLabelOf(l)
	}
	return e, err
}

// change adds c to the timeline, dropping the oldest past MaxChanges as
// Machine.change does. Until the bound the timeline grows by half, as the
// events do.
func (rec *record) change(c *Change) {
	ch := rec.ch
	if len(ch) >= MaxChanges {
		copy(ch, ch[1:])
		ch = ch[:MaxChanges-1]
	} else if len(ch) == cap(ch) {
		ch = slices.Grow(ch, min(MaxChanges-len(ch), max(2, len(ch)/2)))
	}
	rec.ch = append(ch, changeOf(c))
}

// add keeps e as the newest event. Until the ring is full it grows by
// half, not double: a machine of three events holds three, of
// five six (not four and eight).
func (rec *record) add(e Event) {
	g, p := rec.m.Group, rec.m.profile()
	ev := rec.ev
	if len(ev) < MaxEvents {
		if len(ev) == cap(ev) {
			ev = slices.Grow(ev, min(MaxEvents-len(ev), max(3, len(ev)/2)))
		}
		ev = ev[:len(ev)+1]
		ev[len(ev)-1].set(&e, g, p)
		rec.ev = ev
		return
	}
	ev[rec.head].set(&e, g, p)
	if rec.head++; rec.head == MaxEvents {
		rec.head = 0
	}
}

// copy returns the machine, its events oldest first, sharing nothing
// that the recorder changes.
func (rec *record) copy() Machine {
	var s slab
	s.size(rec)
	s.alloc()
	return rec.copyInto(&s)
}

// slab is room for the events, changes, hardware and client addresses of
// several copied records, allocated at once (flush copies records a batch
// at a time): size each record, alloc, then copyInto each.
type slab struct {
	events         []Event
	changes        []Change
	hw             []Hardware
	text           []byte
	ne, nc, nh, nt int
}

// size counts rec's copy in s.
func (s *slab) size(rec *record) {
	s.ne += len(rec.ev)
	s.nc += len(rec.ch)
	if rec.m.Hardware != nil {
		s.nh++
	}
	for i := range rec.ev {
		if rec.ev[i].flags&remote4 != 0 {
			s.nt += maxRemote4
		}
	}
}

// alloc makes the room counted.
func (s *slab) alloc() {
	if s.ne > 0 {
		s.events = make([]Event, 0, s.ne)
	}
	if s.nc > 0 {
		s.changes = make([]Change, 0, s.nc)
	}
	if s.nh > 0 {
		s.hw = make([]Hardware, 0, s.nh)
	}
	if s.nt > 0 {
		s.text = make([]byte, 0, s.nt)
	}
}

// copyInto is copy, its slices cut from s (sized for rec by s.size). Each
// copy's slices are full (their capacity their length): appending to one
// never writes into the next.
func (rec *record) copyInto(s *slab) Machine {
	m := &rec.m
	l := m.label()
	c := Machine{Key: m.Key, MAC: m.MAC, UUID: m.UUID, FirstSeen: m.firstSeen(), LastSeen: m.lastSeen(),
		LastEndpoint: l.lastEndpoint, Group: m.Group, Profile: l.profile, State: l.state}
	if n := len(rec.ev); n > 0 {
		at := len(s.events)
		for i := range rec.ev {
			s.events = append(s.events, rec.ev[(int(rec.head)+i)%n].Event(m.Group, l.profile, &s.text))
		}
		c.Events = s.events[at:len(s.events):len(s.events)]
	}
	if n := len(rec.ch); n > 0 {
		at := len(s.changes)
		for i := range rec.ch {
			s.changes = append(s.changes, rec.ch[i].Change())
		}
		c.Changes = s.changes[at:len(s.changes):len(s.changes)]
	}
	if m.Hardware != nil {
		s.hw = append(s.hw, *m.Hardware)
		c.Hardware = &s.hw[len(s.hw)-1]
	}
	return c
}
