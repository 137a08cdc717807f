package inventory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
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
	all   map[string]*Machine
	dirty map[string]bool
	// flushMu serializes flushes, so a batch is never written twice at once.
	flushMu sync.Mutex
}

// NewRecorder returns a recorder holding the machines already stored.
func NewRecorder(s Saver, existing []Machine, logger *slog.Logger) *Recorder {
	r := &Recorder{saver: s, Logger: logger, all: make(map[string]*Machine, len(existing)), dirty: map[string]bool{}}
	for i := range existing {
		m := existing[i]
		if !m.State.Valid() {
			// written before the lifecycle, or by a newer version
			m.State = derive(m)
		}
		r.all[m.Key] = &m
	}
	return r
}

// Record folds an event into the machine's record.
func (r *Recorder) Record(mac, uuid string, e Event) {
	key := Key(mac, uuid)
	if key == "" {
		return
	}
	r.mu.Lock()
	m := r.all[key]
	if m == nil {
		m = &Machine{Key: key}
		r.all[key] = m
	}
	m.apply(mac, uuid, e)
	r.dirty[key] = true
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
	m := r.all[key]
	if m == nil {
		m = &Machine{Key: key}
		r.all[key] = m
	}
	err := m.apply(mac, uuid, e)
	r.dirty[key] = true
	return m.copy(), err
}

// ErrUnknown is returned (wrapped) by Apply for an event that names no
// machine (neither mac nor uuid).
var ErrUnknown = errors.New("no machine named")

// Get returns a copy of one machine's record.
func (r *Recorder) Get(key string) (Machine, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.all[key]
	if !ok {
		return Machine{}, false
	}
	return m.copy(), true
}

// State returns a machine's state without copying its record ("" for a
// machine never seen): what the boot path needs for BootDisk.
func (r *Recorder) State(key string) State {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.all[key]; m != nil {
		return m.State
	}
	return ""
}

// List returns copies of every record, sorted by key.
func (r *Recorder) List() []Machine {
	r.mu.Lock()
	out := make([]Machine, 0, len(r.all))
	for _, m := range r.all {
		out = append(out, m.copy())
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
	for _, m := range r.all {
		n[m.State]++
	}
	return n
}

func (m *Machine) copy() Machine {
	c := *m
	c.Events = append([]Event(nil), m.Events...)
	c.Changes = append([]Change(nil), m.Changes...)
	if m.Hardware != nil {
		h := *m.Hardware
		c.Hardware = &h
	}
	return c
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
	for k := range r.dirty {
		batch = append(batch, r.all[k].copy())
	}
	r.dirty = make(map[string]bool, len(batch))
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
				r.dirty[m.Key] = true
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
