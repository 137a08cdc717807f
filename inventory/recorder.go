package inventory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
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

	saver Saver
	mu    sync.Mutex
	all   map[string]*record
	// dirty lists the records changed since the last flush (each with
	// its dirty flag set), in the order they first changed.
	dirty []*record
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
	dirty bool
}

// event is an Event as a record keeps it. Its Hardware is folded into the
// machine (Machine.fold clears it) and is not kept: 136 bytes an event,
// not 216. At 100,000 machines of a handful of events each, the events
// were half of the server's live heap.
type event struct {
	time                                    time.Time
	endpoint, group, profile, remote, cause string
	state                                   State
	status                                  int
	localBoot                               bool
}

// kept is e as a record of m keeps it; its group and profile share m's
// strings when they are the same (a machine's events name its group).
func kept(e *Event, m *Machine) event {
	k := event{time: e.Time, endpoint: e.Endpoint, group: e.Group, profile: e.Profile, remote: e.Remote,
		cause: e.Cause, state: e.State, status: e.Status, localBoot: e.LocalBoot}
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
		Status: k.status, LocalBoot: k.localBoot, State: k.state, Cause: k.cause}
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
	m := &rec.m
	c := *m
	c.Events = nil
	if len(rec.ev) > 0 {
		c.Events = make([]Event, 0, len(rec.ev))
		for i := range rec.ev {
			c.Events = append(c.Events, rec.ev[(rec.head+i)%len(rec.ev)].Event())
		}
	}
	c.Changes = append([]Change(nil), m.Changes...)
	if m.Hardware != nil {
		h := *m.Hardware
		c.Hardware = &h
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
		m := existing[i]
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
		r.all[m.Key] = rec
	}
	return r
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

// touch marks rec changed since the last flush. The caller holds r.mu.
func (r *Recorder) touch(rec *record) {
	if !rec.dirty {
		rec.dirty = true
		r.dirty = append(r.dirty, rec)
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
func (r *Recorder) fold(rec *record, mac, uuid string, e Event) error {
	e, err := rec.m.fold(mac, uuid, e)
	rec.add(e)
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
	r         *Recorder
	rec       *record
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
	r.mu.Unlock()
	return &Handle{r: r, rec: rec, mac: mac, uuid: uuid}
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
	r.fold(h.rec, h.mac, h.uuid, e)
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

// Run flushes every Interval until ctx is done, then flushes once more.
// When flushes get expensive (thousands of machines changing between
// them) it waits longer, flushCost times the last flush's duration, so
// that writing the inventory never takes more than a small share of the
// server's CPU away from the boot path.
func (r *Recorder) Run(ctx context.Context) {
	iv := r.Interval
	if iv <= 0 {
		iv = 250 * time.Millisecond
	}
	t := time.NewTimer(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			r.Flush(fctx)
			cancel()
			return
		case <-t.C:
			start := time.Now()
			r.Flush(ctx)
			t.Reset(max(iv, flushCost*time.Since(start)))
		}
	}
}

// flushCost bounds the inventory's share of the CPU to about 1/flushCost.
const flushCost = 20

// Flush writes the changed machines now. On a storage error the machines
// stay dirty and are retried on the next flush.
func (r *Recorder) Flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	if len(r.dirty) == 0 {
		r.mu.Unlock()
		return nil
	}
	batch := make([]Machine, 0, len(r.dirty))
	for _, rec := range r.dirty {
		batch = append(batch, rec.copy())
		rec.dirty = false
	}
	r.dirty = make([]*record, 0, len(batch))
	r.mu.Unlock()
	// In key order, which bbolt writes fastest (its pages split on commit),
	// and in chunks of flushChunk machines, a transaction each: one
	// transaction of thousands of records is tens of milliseconds of CPU
	// that, on a server with one core, every request in flight waits for.
	sort.Slice(batch, func(i, j int) bool { return batch[i].Key < batch[j].Key })
	for len(batch) > 0 {
		chunk := batch[:min(len(batch), flushChunk)]
		if err := r.saver.SaveMachines(ctx, chunk); err != nil {
			r.mu.Lock()
			for _, m := range batch { // this chunk and the ones after it
				r.touch(r.all[m.Key])
			}
			r.mu.Unlock()
			if r.Logger != nil {
				r.Logger.Warn("inventory flush failed; will retry", "machines", len(batch), "err", err)
			}
			return err
		}
		batch = batch[len(chunk):]
		runtime.Gosched()
	}
	return nil
}

// flushChunk is the most machines Flush writes in one transaction.
const flushChunk = 128
