package inventory

import (
	"math"
	"strings"
	"time"
)

// RepeatWindow is how soon after the newest event's last occurrence the
// same request must come again to be counted on it (Event.Repeats) rather
// than kept as an event of its own: a machine in a boot loop, or retrying,
// asks again within seconds; one that reboots daily is a new event each
// day.
const RepeatWindow = 60 * time.Second

// takes reports whether e, as Machine.fold returns it (its State and Cause
// set), repeats k, the newest event kept by a record whose group and
// profile are g and p, and is to be counted on it: both are plain
// sightings (a request for a boot resource, DHCP or TFTP; not a report,
// an operator's command or a BMC operation) that moved no state and met
// no error (neither has a State or a Cause), of the same endpoint, group,
// profile, status and local boot, from the same host (each iPXE boot is a
// new connection: the port is not compared), e within RepeatWindow after
// k's last occurrence. An event that already counts repeats (a replica's,
// merged) is kept as it is, and so is one after k counted math.MaxInt32.
func (k *event) takes(e *Event, g, p string) bool {
	if e.Repeats != 0 || !e.Last.IsZero() || e.State != "" || e.Cause != "" || k.repeats >= math.MaxInt32 {
		return false
	}
	l := k.lab.Value()
	if l.state != "" || l.cause != "" || l.endpoint != e.Endpoint || l.status != e.Status || l.localBoot != e.LocalBoot {
		return false
	}
	kg, kp := k.group(g, p)
	return kg == e.Group && kp == e.Profile && plain(e.Endpoint) && k.within(e.Time) && k.sameHost(e.Remote)
}

// within reports whether t is no earlier than k's last occurrence and no
// more than RepeatWindow after it.
func (k *event) within(t time.Time) bool {
	if at, ok := k.at.ns(); ok && (k.repeats <= 0 || k.last != 0) {
		// in nanoseconds, what the times below give when nothing
		// overflows
		last, ok := at, true
		if k.repeats > 0 {
			off := k.last
			if off > 0 {
				off--
			}
			last, ok = add(at, int64(off))
		}
		if tn, ok2 := unixNano(t); ok && ok2 {
			if d, ok := sub(tn, last); ok {
				return d >= 0 && d <= int64(RepeatWindow)
			}
		}
	}
	last := k.time()
	if k.repeats > 0 {
		last = k.lastTime()
	}
	d := t.Round(0).Sub(last.Round(0))
	return d >= 0 && d <= RepeatWindow
}

// count counts e, which k takes, on k.
func (k *event) count(e *Event) {
	k.repeats++
	k.last = k.lastOf(e.Time)
	k.setRemote(e.Remote)
}

// lastOf is lastOf(k.time(), t).
func (k *event) lastOf(t time.Time) time.Duration {
	if at, ok := k.at.ns(); ok {
		if tn, ok := unixNano(t); ok {
			if d, ok := sub(tn, at); ok {
				if d >= 0 && d < math.MaxInt64 {
					d++
				}
				return time.Duration(d)
			}
		}
	}
	return lastOf(k.time(), t)
}

// plain reports whether an event of endpoint is a plain sighting, one that
// may repeat: not an operator's command, a BMC operation or a report.
func plain(endpoint string) bool {
	return endpoint != EndpointOperator && endpoint != EndpointInstalled && endpoint != EndpointFailed &&
		!strings.HasPrefix(endpoint, EndpointBMC)
}

// sameHost reports whether two remote addresses ("host:port") name the
// same host.
func sameHost(a, b string) bool {
	return a == b || RemoteHost(a) == RemoteHost(b)
}

// RemoteHost is addr (an Event's Remote) without its port: "10.0.0.1" of
// "10.0.0.1:4000", "[fd00::1]" of "[fd00::1]:4000"; an address without a
// port as it is. The remote of an event that counts repeats is the newest
// request's: copies of one event differ in port, not host.
func RemoteHost(addr string) string {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 || (addr[0] != '[' && strings.IndexByte(addr, ':') != i) {
		return addr // no port, or a bare IPv6 address
	}
	if i == len(addr)-1 {
		return addr
	}
	for j := i + 1; j < len(addr); j++ {
		if addr[j] < '0' || addr[j] > '9' {
			return addr
		}
	}
	return addr[:i]
}

// newest returns the newest event rec keeps, nil when it keeps none.
func (rec *record) newest() *event {
	n := len(rec.ev)
	if n == 0 {
		return nil
	}
	return &rec.ev[(int(rec.head)+n-1)%n]
}

// repeat counts e on rec's newest event when e repeats it, without
// folding it (no Next), and reports whether it did; false leaves e to
// Recorder.fold. It is the boot path's fast path for a machine that asks
// again and again.
//
// Why no Next is needed: rec is settled (its newest event k was folded by
// this Recorder, and every change of its state since would have added or
// counted an event after k, so its state is the one k's fold left), k is
// a plain sighting that moved no state and met no error (takes: no State,
// no Cause), so Next(state, k) == state; e has the fields Next reads of k
// (endpoint, group, status, local boot; no State), so Next(state, e) ==
// state as well. Of fold's other work, last seen is e's time; last
// endpoint, group and profile are k's already (fold set them from k, a
// sighting); a mac, uuid or hardware fact that would change the record
// goes the slow way.
func (rec *record) repeat(mac, uuid string, e *Event) bool {
	k := rec.repeated(mac, uuid, e)
	if k == nil {
		return false
	}
	rec.m.setLastSeen(e.Time)
	k.count(e)
	return true
}

// repeated returns rec's newest event when e, of mac and uuid, repeats it
// and may be counted on it without a fold (repeat), else nil.
func (rec *record) repeated(mac, uuid string, e *Event) *event {
	if !rec.settled || e.State != "" || e.Cause != "" {
		return nil
	}
	k := rec.newest()
	if k == nil || !k.takes(e, rec.m.Group, rec.m.profile()) {
		return nil
	}
	m := &rec.m
	if (mac != "" && mac != m.MAC) || (uuid != "" && uuid != m.UUID) || !m.Hardware.covers(e.Hardware) {
		return nil
	}
	return k
}
