package inventory

import (
	"math"
	"time"
)

// A machine that asks again and again through the same handle (the boot
// server keeps one per query it has matched: a machine in a boot loop, a
// retry, bootstorm's steady state) has each request counted on its
// newest event (repeat.go). Counting one on the record reads the record,
// its machine and its newest event, some ten cache lines, each a miss
// when a thousand machines take turns: most of what recording a request
// cost the server. So the handle that last folded an event into its
// record owns the record's newest event: it keeps what a repeat is
// compared with (the event's fields, its last occurrence, the hardware
// its requests carry), and counts repeats on itself (pending), touching
// nothing of the record. Whatever reads or changes the record applies the
// pending repeats first (settle): a fold by any path, Get, List, a flush
// (every flush starts by applying every handle's). What the record holds
// after settle is what counting each repeat on it would have left.
//
// Owners are listed (Recorder.pending) from the moment they own, and a
// flush releases those that counted nothing since the flush before it:
// a record does not keep the handle of a machine that stopped asking
// alive (at 100,000 machines that have booted, 24 MB of handles), and
// the list is the machines asking now.

// owns makes h the owner of its record's newest event (rec.owner), when
// the event h's last fold left newest may be repeated through h: when e,
// the event as h recorded it, would be counted on it again now
// (record.repeated). The caller holds r.mu, and has just folded e into
// h.rec without error.
func (h *Handle) owns(e *Event) {
	rec := h.rec
	k := rec.repeated(h.mac, h.uuid, e)
	if k == nil {
		return
	}
	last := k.time()
	if k.repeats > 0 {
		last = k.lastTime()
	}
	l := k.lab.Value()
	g, p := k.group(rec.m.Group, rec.m.profile())
	queued := h.own.queued
	// e.Remote is k's: k is e, or e was counted on it.
	h.own = ownedEvent{ok: true, counted: true, queued: queued, endpoint: l.endpoint, group: g, profile: p,
		status: l.status, localBoot: l.localBoot, remote: e.Remote, last: last, room: math.MaxInt32 - k.repeats, hw: e.Hardware}
	rec.owner = h
	h.r.list(h)
}

// list lists h in r.pending, once. The caller holds r.mu.
func (r *Recorder) list(h *Handle) {
	if !h.own.queued {
		h.own.queued = true
		r.pending = append(r.pending, h)
	}
}

// ownedEvent is what a handle keeps of the newest event it owns, and the
// repeats it counted on it since they were last applied. Guarded by the
// Recorder's mu.
type ownedEvent struct {
	// ok: h is its record's owner (rec.owner == h).
	ok        bool
	localBoot bool
	// queued: h is listed in Recorder.pending; counted: h owned or
	// counted since the last flush (rotate).
	queued, counted bool
	// n repeats counted and not applied; room: how many more the event
	// may count (math.MaxInt32 in all).
	n, room int32
	status  int
	// The event's fields a repeat must have (event.takes).
	endpoint, group, profile string
	// remote is the newest occurrence's client address, last its time.
	remote string
	last   time.Time
	// hw is the hardware the requests through h carry, which the
	// machine's covers.
	hw Hardware
}

// countOwned counts e on h's owned event and reports whether it did: e repeats
// the owned event as event.takes would have it.
func (r *Recorder) countOwned(h *Handle, e *Event) bool {
	o := &h.own
	if !o.ok || o.room <= 0 || e.Repeats != 0 || !e.Last.IsZero() || e.State != "" || e.Cause != "" ||
		e.Endpoint != o.endpoint || e.Status != o.status || e.LocalBoot != o.localBoot ||
		e.Group != o.group || e.Profile != o.profile || !sameHost(o.remote, e.Remote) || e.Hardware != o.hw {
		return false
	}
	d := e.Time.Round(0).Sub(o.last.Round(0))
	if d < 0 || d > RepeatWindow {
		return false
	}
	o.n++
	o.room--
	o.last, o.remote = e.Time, e.Remote
	o.counted = true
	return true
}

// settle applies the repeats that rec's owner counted to its newest
// event and machine, as counting each on them would have (event.count,
// record.repeat), and marks rec repeated. The caller holds r.mu.
func (r *Recorder) settle(rec *record) {
	o := rec.owner
	if o == nil || o.own.n == 0 {
		return
	}
	k := rec.newest()
	k.repeats += o.own.n
	k.last = lastOf(k.time(), o.own.last)
	k.setRemote(o.own.remote)
	rec.m.setLastSeen(o.own.last)
	o.own.n = 0
	r.touchRepeat(rec)
}

// disown applies rec's pending repeats and takes the newest event from
// its owner: the record is about to change. The caller holds r.mu.
func (r *Recorder) disown(rec *record) {
	if o := rec.owner; o != nil {
		r.settle(rec)
		o.own.ok = false
		rec.owner = nil
	}
}

// settleAll applies every handle's pending repeats. The caller holds
// r.mu.
func (r *Recorder) settleAll() {
	for _, h := range r.pending {
		if h.rec.owner == h {
			r.settle(h.rec)
		}
	}
}

// rotate is settleAll for a flush: it also releases the owners that
// counted nothing since the last rotate, and takes off the list the
// handles that own nothing any more. The caller holds r.mu.
func (r *Recorder) rotate() {
	keep := r.pending[:0]
	for _, h := range r.pending {
		switch {
		case h.rec.owner != h:
			h.own.queued = false
		case h.own.counted:
			r.settle(h.rec)
			h.own.counted = false
			keep = append(keep, h)
		default:
			r.disown(h.rec)
			h.own.queued = false
		}
	}
	clear(r.pending[len(keep):])
	r.pending = keep
}
