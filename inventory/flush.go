package inventory

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"time"
)

// RepeatFlushInterval is how often Run writes a record whose only change
// since it was last written is repeats: the count, last time and remote
// of its newest event, and the machine's last seen. Any other change is
// written at the next flush (Interval); Flush and the final flush of Run
// write everything. A machine in a boot loop, asking again and again,
// would otherwise be written four times a second for a count.
const RepeatFlushInterval = 5 * time.Second

// flushCost bounds the inventory's share of the CPU to about 1/flushCost.
const flushCost = 20

// flushChunk is the most machines Flush writes in one transaction.
const flushChunk = 128

// copyBatch is the most records a flush copies under r.mu at once: a boot
// request that records meanwhile waits for one batch, not for the copy of
// every changed machine.
const copyBatch = 64

// Run flushes every Interval until ctx is done, then flushes once more,
// everything. The records whose only change is repeats it writes every
// RepeatInterval. When flushes get expensive (thousands of machines
// changing between them) it waits longer, flushCost times the last
// flush's duration, so that writing the inventory never takes more than a
// small share of the server's CPU away from the boot path.
func (r *Recorder) Run(ctx context.Context) {
	iv := r.Interval
	if iv <= 0 {
		iv = 250 * time.Millisecond
	}
	riv := r.RepeatInterval
	if riv <= 0 {
		riv = RepeatFlushInterval
	}
	t := time.NewTimer(iv)
	defer t.Stop()
	repeatsWritten := time.Now()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			r.flush(fctx, true)
			cancel()
			return
		case <-t.C:
			start := time.Now()
			repeats := start.Sub(repeatsWritten) >= riv
			if r.flush(ctx, repeats) == nil && repeats {
				repeatsWritten = start
			}
			t.Reset(max(iv, flushCost*time.Since(start)))
		}
	}
}

// Flush writes every changed machine now, those whose only change is
// repeats included. On a storage error the machines stay dirty and are
// retried on the next flush.
func (r *Recorder) Flush(ctx context.Context) error {
	return r.flush(ctx, true)
}

// flush writes the changed machines, and with repeats those whose only
// change is repeats, in key order (which bbolt writes fastest: its pages
// split on commit), in chunks of flushChunk machines, a transaction each
// (one transaction of thousands of records is tens of milliseconds of CPU
// that, on a server with one core, every request in flight waits for).
// It copies the records copyBatch at a time, releasing r.mu between
// batches. A record changed after its copy is listed again (touch), and
// written by the next flush; on a storage error the records of the
// failed chunk and of the chunks after it are listed again.
func (r *Recorder) flush(ctx context.Context, repeats bool) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	r.rotate()
	todo := r.dirty
	r.dirty = nil
	if repeats {
		for _, rec := range r.repeated {
			rec.inRepeated = false
		}
		todo = append(todo, r.repeated...)
		r.repeated = nil
	}
	r.mu.Unlock()
	if len(todo) == 0 {
		return nil
	}
	// A record's key never changes: todo is sorted without r.mu.
	slices.SortFunc(todo, func(a, b *record) int { return strings.Compare(a.m.Key, b.m.Key) })
	todo = slices.Compact(todo) // listed twice
	for len(todo) > 0 {
		chunk := make([]Machine, 0, min(len(todo), flushChunk))
		for len(todo) > 0 && len(chunk) < flushChunk {
			n := min(len(todo), copyBatch, flushChunk-len(chunk))
			chunk = r.copyDirty(chunk, todo[:n], repeats)
			todo = todo[n:]
		}
		if len(chunk) == 0 {
			continue
		}
		if err := r.saver.SaveMachines(ctx, chunk); err != nil {
			r.mu.Lock()
			for i := range chunk {
				r.touch(r.all[chunk[i].Key])
			}
			r.relist(todo)
			r.mu.Unlock()
			if r.Logger != nil {
				r.Logger.Warn("inventory flush failed; will retry", "machines", len(chunk)+len(todo), "err", err)
			}
			return err
		}
		runtime.Gosched()
	}
	return nil
}

// copyDirty appends to ms the copies of the records of recs that are to be
// written (changed, or with repeats repeated only), and marks them clean.
// It holds r.mu for the batch.
func (r *Recorder) copyDirty(ms []Machine, recs []*record, repeats bool) []Machine {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s slab
	for _, rec := range recs {
		if rec.due(repeats) {
			r.settle(rec) // what was counted since the flush began
			s.size(rec)
		}
	}
	s.alloc()
	for _, rec := range recs {
		if rec.due(repeats) {
			ms = append(ms, rec.copyInto(&s))
			rec.dirty = clean
		}
	}
	return ms
}

// due reports whether a flush (with repeats or not) writes rec.
func (rec *record) due(repeats bool) bool {
	return rec.dirty == changed || (repeats && rec.dirty == repeatedOnly)
}

// relist lists again the records that a failed flush took off the lists
// and did not copy. The caller holds r.mu.
func (r *Recorder) relist(recs []*record) {
	for _, rec := range recs {
		switch rec.dirty {
		case changed:
			r.dirty = append(r.dirty, rec) // maybe twice: flush compacts
		case repeatedOnly:
			if !rec.inRepeated {
				rec.inRepeated = true
				r.repeated = append(r.repeated, rec)
			}
		}
	}
}
