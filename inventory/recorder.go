package inventory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Saver persists machines. SaveMachines writes all of them in one
// transaction.
type Saver interface {
	SaveMachines(ctx context.Context, ms []Machine) error
}

// Recorder keeps the inventory in memory and flushes changed machines to a
// Saver every Interval. Record never blocks on storage.
type Recorder struct {
	// Interval between flushes (default 250ms).
	Interval time.Duration
	Logger   *slog.Logger

	// RepeatInterval is how often Run writes the records whose only
	// change is repeats (default RepeatFlushInterval); see flush.go.
	RepeatInterval time.Duration

	saver Saver
	mu    sync.Mutex
	all   map[string]*record
	// dirty lists the records changed since they were last written
	// (rec.dirty == changed), and repeated those whose only change is
	// repeats counted on their newest event (rec.inRepeated set; a
	// record changed since may be listed in both). Either may list a
	// record twice (after a failed flush); a flush writes it once.
	dirty, repeated []*record
	// pending lists the handles that own their record's newest event
	// (pending.go; a handle at most once, and maybe one that owned it
	// until the last fold: the next flush takes it off).
	pending []*Handle
	// flushMu serializes flushes, so a batch is never written twice at once.
	flushMu sync.Mutex
}

// record is a machine as the recorder holds it. Its events are kept in
// ev, not m.Events (nil), as a ring once MaxEvents long: ev[head] is then
// the oldest, and a new event takes its place instead of every event
// moving down one (a boot request of a machine seen before then copies
// one event, not sixteen). copy returns the machine with its events
// oldest first, as Machine has them.
type record struct {
	m     Machine
	ev    []event
	head  int
	dirty dirtiness
	// inRepeated says that Recorder.repeated lists the record.
	inRepeated bool
	// owner is the handle that counts the repeats of the newest event
	// (pending.go), nil for none.
	owner *Handle
	// settled says that the newest event was folded by this Recorder,
	// and so that the state is the one its fold left (repeat.go). A
	// record loaded from the store is not settled until its next event.
	settled bool
}

// dirtiness is what changed in a record since it was last written.
type dirtiness uint8

const (
	clean dirtiness = iota
	// repeatedOnly: repeats counted on the newest event (its Repeats,
	// Last and Remote, and the machine's LastSeen), nothing else.
	repeatedOnly
	// changed: anything else.
	changed
)

// event is an Event as a record keeps it. Its Hardware is folded into the
// machine (Machine.fold clears it) and is not kept, its Repeats and Last
// are kept in 12 bytes (4 of them in localBoot's padding), not 32: 144
// bytes an event, not 248. At 100,000 machines of a handful of events
// each, the events were half of the server's live heap.
type event struct {
	time                                    time.Time
	endpoint, group, profile, remote, cause string
	state                                   State
	status                                  int
	localBoot                               bool
	// repeats is Event.Repeats, at most math.MaxInt32 (an event that
	// counted that many counts no more: the next request is an event of
	// its own).
	repeats int32
	// last is Event.Last as its distance from time (lastOf), 0 for none.
	last time.Duration
}

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

// lastTime is Event.Last (in time's location).
func (k *event) lastTime() time.Time {
	switch {
	case k.last == 0:
		return time.Time{}
	case k.last > 0:
		return k.time.Round(0).Add(k.last - 1)
	}
	return k.time.Round(0).Add(k.last)
}

// kept is e as a record of m keeps it; its group and profile share m's
// strings when they are the same (a machine's events name its group).
func kept(e *Event, m *Machine) event {
	k := event{time: e.Time, endpoint: e.Endpoint, group: e.Group, profile: e.Profile, remote: e.Remote,
		cause: e.Cause, state: e.State, status: e.Status, localBoot: e.LocalBoot,
		repeats: int32(max(math.MinInt32, min(e.Repeats, math.MaxInt32))), last: lastOf(e.Time, e.Last)}
	if k.group == m.Group {
		k.group = m.Group
	}
	if k.profile == m.Profile {
		k.profile = m.Profile
	}
	return k
}

// Event returns the kept event as an Event.
func (k *event) Event() Event {
	return Event{Time: k.time, Endpoint: k.endpoint, Group: k.group, Profile: k.profile, Remote: k.remote,
		Status: k.status, LocalBoot: k.localBoot, State: k.state, Cause: k.cause, Repeats: int(k.repeats), Last: k.lastTime()}
}

// add keeps e as the newest event. Until the ring is full it grows by
// half, not double: a machine of three events holds three, of
// five six (not four and eight).
func (rec *record) add(e Event) {
	k := kept(&e, &rec.m)
	ev := rec.ev
	if len(ev) < MaxEvents {
		if len(ev) == cap(ev) {
			ev = slices.Grow(ev, min(MaxEvents-len(ev), max(3, len(ev)/2)))
		}
		rec.ev = append(ev, k)
		return
	}
	ev[rec.head] = k
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

// slab is room for the events, changes and hardware of several copied
// records, allocated at once (flush copies records a batch at a time):
// size each record, alloc, then copyInto each.
type slab struct {
	events     []Event
	changes    []Change
	hw         []Hardware
	ne, nc, nh int
}

// size counts rec's copy in s.
func (s *slab) size(rec *record) {
	s.ne += len(rec.ev)
	s.nc += len(rec.m.Changes)
	if rec.m.Hardware != nil {
		s.nh++
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
}

// copyInto is copy, its slices cut from s (sized for rec by s.size). Each
// copy's slices are full (their capacity their length): appending to one
// never writes into the next.
func (rec *record) copyInto(s *slab) Machine {
	m := &rec.m
	c := *m
	c.Events, c.Changes = nil, nil
	if n := len(rec.ev); n > 0 {
		at := len(s.events)
		for i := range rec.ev {
			s.events = append(s.events, rec.ev[(rec.head+i)%n].Event())
		}
		c.Events = s.events[at:len(s.events):len(s.events)]
	}
	if n := len(m.Changes); n > 0 {
		at := len(s.changes)
		s.changes = append(s.changes, m.Changes...)
		c.Changes = s.changes[at:len(s.changes):len(s.changes)]
	}
	if m.Hardware != nil {
		s.hw = append(s.hw, *m.Hardware)
		c.Hardware = &s.hw[len(s.hw)-1]
	}
	return c
}

// NewRecorder returns a recorder holding the machines already stored.
func NewRecorder(s Saver, existing []Machine, logger *slog.Logger) *Recorder {
	r := &Recorder{saver: s, Logger: logger, all: make(map[string]*record, len(existing))}
	// The strings that repeat from machine to machine (endpoints, states,
	// causes, profiles), decoded once each per machine and event, are kept
	// once.
	in := interner{}
	for i := range existing {
		rec := in.loaded(existing[i])
		r.all[rec.m.Key] = rec
	}
	return r
}

// loaded is the record of a stored machine m, its repeated strings
// (endpoints, states, causes, profiles) in's copies.
func (in interner) loaded(m Machine) *record {
	if !m.State.Valid() {
		// written before the lifecycle, or by a newer version
		m.State = derive(m)
	}
	events := m.Events
	if len(events) > MaxEvents {
		// a newer version's bound: the newest MaxEvents
		events = events[len(events)-MaxEvents:]
	}
	if m.MAC == m.Key {
		m.MAC = m.Key
	}
	m.LastEndpoint, m.Profile, m.State = in.get(m.LastEndpoint), in.get(m.Profile), State(in.get(string(m.State)))
	for i := range m.Changes {
		c := &m.Changes[i]
		c.From, c.To, c.Cause = State(in.get(string(c.From))), State(in.get(string(c.To))), in.get(c.Cause)
	}
	rec := &record{m: m}
	rec.m.Events = nil
	// The events the record keeps (the ring writes into them; the
	// caller's slice is theirs).
	rec.ev = make([]event, len(events))
	for i := range events {
		e := &events[i]
		rec.ev[i] = kept(e, &rec.m)
		k := &rec.ev[i]
		k.endpoint, k.cause, k.state = in.get(k.endpoint), in.get(k.cause), State(in.get(string(k.state)))
		if k.profile != rec.m.Profile {
			k.profile = in.get(k.profile)
		}
	}
	return rec
}

// interner keeps one copy of each string it is given.
type interner map[string]string

func (in interner) get(s string) string {
	if s == "" {
		return ""
	}
	if t, ok := in[s]; ok {
		return t
	}
	in[s] = s
	return s
}

// touch marks rec changed since it was last written. The caller holds
// r.mu.
func (r *Recorder) touch(rec *record) {
	if rec.dirty != changed {
		rec.dirty = changed
		r.dirty = append(r.dirty, rec)
	}
}

// touchRepeat marks rec's newest event repeated since rec was last
// written. The caller holds r.mu.
func (r *Recorder) touchRepeat(rec *record) {
	if rec.dirty == clean {
		rec.dirty = repeatedOnly
		if !rec.inRepeated {
			rec.inRepeated = true
			r.repeated = append(r.repeated, rec)
		}
	}
}

// lookup returns the record of key, created when there is none. The
// caller holds r.mu.
func (r *Recorder) lookup(key string) *record {
	rec := r.all[key]
	if rec == nil {
		// The key's own copy: a request's mac may be a substring of its
		// query, which the record would keep alive.
		rec = &record{m: Machine{Key: strings.Clone(key)}}
		r.all[key] = rec
	}
	return rec
}

// fold folds e into rec and keeps it. The caller holds r.mu.
// A repeat of the newest event (repeat.go) is counted on it.
func (r *Recorder) fold(rec *record, mac, uuid string, e Event) error {
	r.disown(rec)
	if rec.repeat(mac, uuid, &e) {
		r.touchRepeat(rec)
		return nil
	}
	e, err := rec.m.fold(mac, uuid, e)
	rec.settled = true
	if k := rec.newest(); k != nil && err == nil && k.takes(&e) {
		k.count(&e) // a repeat the fast path left (the record was loaded, or the mac or hardware changed)
	} else {
		rec.add(e)
	}
	r.touch(rec)
	return err
}

// Record folds an event into the machine's record.
func (r *Recorder) Record(mac, uuid string, e Event) {
	key := Key(mac, uuid)
	if key == "" {
		return
	}
	r.mu.Lock()
	r.fold(r.lookup(key), mac, uuid, e)
	r.mu.Unlock()
}

// Handle is one machine's record in a Recorder, for a caller that records
// the same machine again and again (the boot server keeps one beside each
// query it has matched): RecordTo through it folds an event without
// building the machine's key or looking it up. A Recorder never drops a
// record, so a handle stays valid for the Recorder's life.
type Handle struct {
	r   *Recorder
	rec *record
	// own is the newest event of rec when h owns it (pending.go): first,
	// so that a repeat reads the handle's first cache lines only.
	own       ownedEvent
	mac, uuid string
}

// RecordHandle is Record, and returns the machine's handle for its next
// events (nil when mac and uuid name no machine).
func (r *Recorder) RecordHandle(mac, uuid string, e Event) *Handle {
	key := Key(mac, uuid)
	if key == "" {
		return nil
	}
	r.mu.Lock()
	rec := r.lookup(key)
	r.fold(rec, mac, uuid, e)
	// The record's own strings when they are equal: the fast path of a
	// repeat (record.repeat) compares them with the record's, and equal
	// pointers compare without reading the bytes, a cache miss when a
	// thousand machines take turns.
	if mac != "" && mac == rec.m.MAC {
		mac = rec.m.MAC
	}
	if uuid != "" && uuid == rec.m.UUID {
		uuid = rec.m.UUID
	}
	// The new handle does not own the event yet: its first RecordTo
	// does (a fold, then owns). Most handles are never used again when
	// the machines that ask are more than the boot server keeps handles
	// for (a fleet of 100,000 rebooting at once: each request's query
	// is new to its cache), and an owner is listed until the next flush,
	// which a busy recorder puts off for seconds: tens of thousands of
	// handles, each keeping its request's line alive through the
	// event's hardware facts (docs/performance.md, "A booted fleet
	// reboots").
	h := &Handle{r: r, rec: rec, mac: mac, uuid: uuid}
	r.mu.Unlock()
	return h
}

// RecordTo folds an event into h's machine: Record(mac, uuid, e) with the
// mac and uuid h was returned for. A handle of another Recorder is
// recorded by its mac and uuid.
func (r *Recorder) RecordTo(h *Handle, e Event) {
	if h.r != r {
		r.Record(h.mac, h.uuid, e)
		return
	}
	r.mu.Lock()
	if !r.countOwned(h, &e) && r.fold(h.rec, h.mac, h.uuid, e) == nil {
		h.owns(&e)
	}
	r.mu.Unlock()
}

// Apply folds an event into the machine's record, as Record does, and
// returns the record after it, or the error of Next when the event may
// not move the machine (the event is recorded all the same, with the
// reason as its cause). It is for reports and operators' commands, whose
// callers want the answer. Apply creates the record of a machine never
// seen: an operator may mark a registered machine that already runs its
// OS installed before it ever boots from provisiond.
func (r *Recorder) Apply(mac, uuid string, e Event) (Machine, error) {
	key := Key(mac, uuid)
	if key == "" {
		return Machine{}, fmt.Errorf("%w: neither mac nor uuid", ErrUnknown)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.lookup(key)
	err := r.fold(rec, mac, uuid, e)
	return rec.copy(), err
}

// ErrUnknown is returned (wrapped) by Apply for an event that names no
// machine (neither mac nor uuid).
var ErrUnknown = errors.New("no machine named")

// Get returns a copy of one machine's record.
func (r *Recorder) Get(key string) (Machine, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, ok := r.all[key]
	if !ok {
		return Machine{}, false
	}
	r.settle(rec)
	return rec.copy(), true
}

// State returns a machine's state without copying its record ("" for a
// machine never seen): what the boot path needs for BootDisk.
func (r *Recorder) State(key string) State {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rec := r.all[key]; rec != nil {
		return rec.m.State
	}
	return ""
}

// List returns copies of every record, sorted by key.
func (r *Recorder) List() []Machine {
	r.mu.Lock()
	r.settleAll()
	out := make([]Machine, 0, len(r.all))
	for _, rec := range r.all {
		out = append(out, rec.copy())
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// CountByState returns the number of machines in each state.
func (r *Recorder) CountByState() map[State]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := make(map[State]int, len(States))
	for _, s := range States {
		n[s] = 0
	}
	for _, rec := range r.all {
		n[rec.m.State]++
	}
	return n
}
