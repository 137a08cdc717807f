package storage

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/provisiond/provisiond/ipam"
)

// Change is one change a Watcher reports.
type Change struct {
	// Reset says the watch (re)started: anything may have changed since
	// the last report, so everything must be read again.
	Reset bool
	// Catalog says the stored catalog changed.
	Catalog bool
	// Lease is a lease that was written (Deleted false) or deleted, by
	// any process, this one included.
	Lease   *ipam.Lease
	Deleted bool
}

// Watcher is implemented by backends that several processes share (etcd),
// so that each one can follow the others' writes. bbolt needs none: one
// process owns the file.
type Watcher interface {
	// Watch calls fn for every change, one call at a time, until ctx is
	// done or the store is closed. Its first call is a Reset. When the
	// watch is lost (the store unreachable, history compacted) it keeps
	// trying and reports a Reset once it watches again; the changes
	// reported after a Reset are those made after the revision it read.
	Watch(ctx context.Context, fn func(Change)) error
}

// FollowDelay is how long Follow waits after a catalog change before it
// reloads, so that a burst of writes costs one reload.
const FollowDelay = 100 * time.Millisecond

// Follow keeps the served catalog and the lease table current with the
// changes w reports, until ctx is done: a lease change updates the table
// in place; a catalog change (after FollowDelay) or a Reset reloads the
// stored catalog and leases with LoadStored. A reload that fails is
// retried every second; the previous snapshot keeps being served
// meanwhile.
func (c *Catalogs) Follow(ctx context.Context, w Watcher, log *slog.Logger) {
	c.FollowThen(ctx, w, log, nil)
}

// FollowThen is Follow, calling after (when not nil) once each reload of
// the stored catalog is served: a replica that keeps a catalog directory
// writes other replicas' changes into it there.
func (c *Catalogs) FollowThen(ctx context.Context, w Watcher, log *slog.Logger, after func()) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var (
		mu      sync.Mutex
		pending bool
		// tableMu orders lease changes against reloads: a reload reads
		// and replaces the whole table under it, so a change reported
		// while it runs is applied after the replacement, never undone
		// by it. (Changes are reported in order, so replaying one the
		// reload already saw converges to the same table.)
		tableMu sync.Mutex
	)
	kick := make(chan struct{}, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		retry := time.NewTimer(time.Hour)
		retry.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-kick:
				select { // let a burst settle
				case <-ctx.Done():
					return
				case <-time.After(FollowDelay):
				}
			case <-retry.C:
			}
			mu.Lock()
			run := pending
			pending = false
			mu.Unlock()
			if !run {
				continue
			}
			start := time.Now()
			tableMu.Lock()
			snap, warnings, err := c.LoadStored(ctx)
			tableMu.Unlock()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				log.Error("reloading the stored catalog failed; still serving the previous one, retrying", "err", err)
				mu.Lock()
				pending = true
				mu.Unlock()
				retry.Reset(time.Second)
				continue
			}
			for _, w := range warnings {
				log.Warn("stored catalog", "warning", w)
			}
			log.Info("stored catalog reloaded", "profiles", len(snap.Catalog.Profiles), "groups", len(snap.Catalog.Groups),
				"leases", len(c.Leases.All()), "duration", time.Since(start))
			if after != nil {
				after()
			}
		}
	})
	reload := func() {
		mu.Lock()
		pending = true
		mu.Unlock()
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	err := w.Watch(ctx, func(ch Change) {
		switch {
		case ch.Reset, ch.Catalog:
			if ch.Reset {
				log.Info("store watch (re)started; reloading")
			}
			reload()
		case ch.Lease != nil:
			tableMu.Lock()
			ApplyLease(c.Leases, *ch.Lease, ch.Deleted)
			tableMu.Unlock()
		}
	})
	if err != nil && ctx.Err() == nil {
		log.Error("store watch stopped", "err", err)
	}
}

// ApplyLease applies one watched lease change to table. A deletion only
// forgets the machine's lease when the table still holds it at that
// address, so that events of one transaction (a machine moving from one
// address to another) apply in any order.
func ApplyLease(table *ipam.Table, l ipam.Lease, deleted bool) {
	if !deleted {
		table.Put(l)
		return
	}
	if cur, ok := table.Lookup(l.Pool, l.MAC); ok && cur.Address == l.Address {
		table.Delete(l.Pool, l.MAC)
	}
}
