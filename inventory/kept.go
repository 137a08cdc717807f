package inventory

import (
	"math"
	"time"
	"unique"
	"unsafe"
)

// event is an Event as a record keeps it, 48 bytes (an Event is 248): its
// endpoint, state, cause, status and local boot one interned label; its
// group and profile, when they are its machine's (as a machine's events'
// are), not kept at all but read from the record (groupOwn); its time a
// stamp, its client's address an IPv4 address and port; its Repeats and
// Last in 12 bytes. Whatever does not fit is in x (nil for almost every
// event). Its Hardware is folded into the machine (record.fold clears
// it) and not kept. At 100,000 machines of a handful of events each, the
// events were a third of the server's live heap at 144 bytes each.
type event struct {
	lab unique.Handle[label]
	// at is Event.Time, x.time when wideStamp.
	at stamp
	// last is Event.Last as its distance from the event's time
	// (lastOf), 0 for none.
	last time.Duration
	x    *eventExtra
	// repeats is Event.Repeats, at most math.MaxInt32 (an event that
	// counted that many counts no more: the next request is an event of
	// its own).
	repeats int32
	// ip and port are Event.Remote when flags has remote4.
	ip    uint32
	port  uint16
	flags eventFlags
}

// eventExtra is what an event keeps that its fixed-size fields do not
// hold.
type eventExtra struct {
	time           time.Time // when at is wideStamp
	remote         string    // with remoteX
	group, profile string    // with groupX
}

type eventFlags uint8

const (
	// groupOwn: the event's group and profile are its record's.
	groupOwn eventFlags = 1 << iota
	// groupX: they are x's. Neither flag: both are "".
	groupX
	// remote4: Event.Remote is ip:port; remoteX: it is x's; neither: "".
	remote4
	remoteX
)

// lastOf is last as event.last keeps it: its distance from t, plus one
// when not negative, so that 0 is no last at all.
func lastOf(t, last time.Time) time.Duration {
	if last.IsZero() {
		return 0
	}
	d := last.Round(0).Sub(t.Round(0)) // wall clocks; saturates
	if d >= 0 && d < math.MaxInt64 {
		d++
	}
	return d
}

// time is Event.Time.
func (k *event) time() time.Time {
	if k.at == wideStamp {
		return k.x.time
	}
	return k.at.time()
}

// lastTime is Event.Last (in Time's location).
func (k *event) lastTime() time.Time {
	switch {
	case k.last == 0:
		return time.Time{}
	case k.last > 0:
		return k.time().Round(0).Add(k.last - 1)
	}
	return k.time().Round(0).Add(k.last)
}

// kept is e as a record whose group and profile are g and p keeps it.
func kept(e *Event, g, p string) event {
	var k event
	k.set(e, g, p)
	return k
}

// set makes k e, as a record whose group and profile are g and p keeps
// it. It reuses k's x when e needs one (a ring's slot is overwritten
// again and again: an event of a time that needs x allocates nothing).
func (k *event) set(e *Event, g, p string) {
	x := k.x
	if x != nil {
		*x = eventExtra{}
	}
	*k = event{lab: eventLabel(label{endpoint: e.Endpoint, cause: e.Cause, state: e.State, status: e.Status, localBoot: e.LocalBoot}),
		last: lastOf(e.Time, e.Last), x: x, repeats: int32(max(math.MinInt32, min(e.Repeats, math.MaxInt32)))}
	var ok bool
	if k.at, ok = stampOf(e.Time); !ok {
		k.extra().time = e.Time
	}
	switch {
	case e.Group == "" && e.Profile == "":
	case e.Group == g && e.Profile == p:
		k.flags |= groupOwn
	default:
		k.flags |= groupX
		x := k.extra()
		x.group, x.profile = e.Group, e.Profile
	}
	k.setRemote(e.Remote)
	if k.x != nil && *k.x == (eventExtra{}) {
		k.x = nil
	}
}

// extra returns k.x, made when nil.
func (k *event) extra() *eventExtra {
	if k.x == nil {
		k.x = &eventExtra{}
	}
	return k.x
}

// setRemote makes addr the event's client address.
func (k *event) setRemote(addr string) {
	k.flags &^= remote4 | remoteX
	if k.x != nil {
		k.x.remote = ""
	}
	if addr == "" {
		return
	}
	if ip, port, ok := parseRemote4(addr); ok {
		k.ip, k.port = ip, port
		k.flags |= remote4
		return
	}
	k.extra().remote = addr
	k.flags |= remoteX
}

// group returns the event's group and profile; g and p are its record's.
func (k *event) group(g, p string) (string, string) {
	switch {
	case k.flags&groupOwn != 0:
		return g, p
	case k.flags&groupX != 0:
		return k.x.group, k.x.profile
	}
	return "", ""
}

// ungroup keeps the event's group and profile in x when they are its
// record's (g and p), which is about to change them.
func (k *event) ungroup(g, p string) {
	if k.flags&groupOwn != 0 {
		k.flags = k.flags&^groupOwn | groupX
		x := k.extra()
		x.group, x.profile = g, p
	}
}

// remote returns Event.Remote, an IPv4 address written into buf (nil:
// a string of its own).
func (k *event) remote(buf *[]byte) string {
	switch {
	case k.flags&remote4 != 0:
		if buf == nil {
			return string(appendRemote4(make([]byte, 0, maxRemote4), k.ip, k.port))
		}
		// The bytes written are never written again (only appended
		// to), so the string may share them.
		at := len(*buf)
		*buf = appendRemote4(*buf, k.ip, k.port)
		return unsafe.String(&(*buf)[at], len(*buf)-at)
	case k.flags&remoteX != 0:
		return k.x.remote
	}
	return ""
}

// sameHost reports whether addr names the host of the event's client
// address (sameHost(Event.Remote, addr)), without writing the address out
// when it is IPv4's.
func (k *event) sameHost(addr string) bool {
	if k.flags&remote4 != 0 {
		if ip, _, ok := parseRemote4(addr); ok {
			return ip == k.ip
		}
	}
	return sameHost(k.remote(nil), addr)
}

// Event returns the kept event as an Event; g and p are its record's
// group and profile; an IPv4 address is written into buf (nil: a string
// of its own).
func (k *event) Event(g, p string, buf *[]byte) Event {
	l := k.lab.Value()
	e := Event{Time: k.time(), Endpoint: l.endpoint, Remote: k.remote(buf), Status: l.status, LocalBoot: l.localBoot,
		State: l.state, Cause: l.cause, Repeats: int(k.repeats), Last: k.lastTime()}
	e.Group, e.Profile = k.group(g, p)
	return e
}

// change is a Change as a record keeps it, 16 bytes (a Change is 72):
// its time a stamp, the rest an interned label (which holds the time when
// no stamp does).
type change struct {
	at  stamp
	lab unique.Handle[changeLabel]
}

func changeOf(c *Change) change {
	l := changeLabel{from: c.From, to: c.To, cause: c.Cause}
	at, ok := stampOf(c.Time)
	if !ok {
		l.wide = c.Time
	}
	return change{at: at, lab: changeLabelOf(l)}
}

// Change returns the kept change as a Change.
func (c *change) Change() Change {
	l := c.lab.Value()
	t := l.wide
	if c.at != wideStamp {
		t = c.at.time()
	}
	return Change{Time: t, From: l.from, To: l.to, Cause: l.cause}
}
