package inventory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
	"unique"
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

// record is a machine as the recorder holds it, in the compact form of
// kept.go and stamp.go: at 100,000 machines that have booted, the
// records are most of the server's memory. Its events are kept in ev as
// a ring once MaxEvents long: ev[head] is then the oldest, and a new
// event takes its place instead of every event moving down one (a boot
// request of a machine seen before then copies one event, not sixteen).
// copy returns the machine with its events oldest first, as Machine has
// them.
type record struct {
	m  machine
	ev []event
	ch []change
	// owner is the handle that counts the repeats of the newest event
	// (pending.go), nil for none.
	owner *Handle
	head  uint8
	dirty dirtiness
	// inRepeated says that Recorder.repeated lists the record.
	inRepeated bool
	// settled says that the newest event was folded by this Recorder,
	// and so that the state is the one its fold left (repeat.go). A
	// record loaded from the store is not settled until its next event.
	settled bool
}

// machine is a Machine's fields as a record keeps them (record.copy
// returns the Machine): its last endpoint, state and profile one
// interned label, its first and last seen stamps, its hardware shared
// with other machines' when equal (hardwareOf; never changed in place).
type machine struct {
	Key, MAC, UUID, Group string
	lab                   unique.Handle[machineLabel]
	Hardware              *Hardware
	first, last           stamp
	// x holds the first and last seen that no stamp holds.
	x *seenExtra
}

type seenExtra struct{ first, last time.Time }

// label returns the machine's last endpoint, state and profile.
func (m *machine) label() machineLabel {
	if m.lab == (unique.Handle[machineLabel]{}) {
		return machineLabel{}
	}
	return m.lab.Value()
}

// state is Machine.State.
func (m *machine) state() State { return m.label().state }

// profile is Machine.Profile.
func (m *machine) profile() string { return m.label().profile }

// firstSeen is Machine.FirstSeen.
func (m *machine) firstSeen() time.Time {
	if m.first == wideStamp {
		return m.x.first
	}
	return m.first.time()
}

// lastSeen is Machine.LastSeen.
func (m *machine) lastSeen() time.Time {
	if m.last == wideStamp {
		return m.x.last
	}
	return m.last.time()
}

func (m *machine) setFirstSeen(t time.Time) {
	var ok bool
	if m.first, ok = stampOf(t); !ok {
		m.extra().first = t
	} else if m.x != nil {
		m.x.first = time.Time{}
	}
}

func (m *machine) setLastSeen(t time.Time) {
	var ok bool
	if m.last, ok = stampOf(t); !ok {
		m.extra().last = t
	} else if m.x != nil {
		m.x.last = time.Time{}
	}
}

func (m *machine) extra() *seenExtra {
	if m.x == nil {
		m.x = &seenExtra{}
	}
	return m.x
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

// NewRecorder returns a recorder holding the machines already stored.
func NewRecorder(s Saver, existing []Machine, logger *slog.Logger) *Recorder {
	r := &Recorder{saver: s, Logger: logger, all: make(map[string]*record, len(existing))}
	// A group that several machines name is kept once (endpoints,
	// states, causes and profiles are interned labels: labels.go).
	in := interner{}
	for i := range existing {
		rec := in.loaded(existing[i])
		r.all[rec.m.Key] = rec
	}
	return r
}

// loaded is the record of a stored machine m, its group in's copy.
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
	rec := &record{m: machine{Key: m.Key, MAC: m.MAC, UUID: m.UUID, Group: in.get(m.Group), Hardware: hardwareOf(m.Hardware),
		lab: machineLabelOf(machineLabel{lastEndpoint: m.LastEndpoint, state: m.State, profile: m.Profile})}}
	rec.m.setFirstSeen(m.FirstSeen)
	rec.m.setLastSeen(m.LastSeen)
	if len(m.Changes) > 0 {
		rec.ch = make([]change, len(m.Changes))
		for i := range m.Changes {
			rec.ch[i] = changeOf(&m.Changes[i])
		}
	}
	if len(events) > 0 {
		rec.ev = make([]event, len(events))
		for i := range events {
			rec.ev[i].set(&events[i], m.Group, m.Profile)
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
		rec = &record{m: machine{Key: strings.Clone(key)}}
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
	e, err := rec.fold(mac, uuid, e)
	rec.settled = true
	if k := rec.newest(); k != nil && err == nil && k.takes(&e, rec.m.Group, rec.m.profile()) {
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
		return rec.m.state()
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
		n[rec.m.state()]++
	}
	return n
}
