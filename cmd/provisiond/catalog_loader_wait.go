package main

import (
	"fmt"
	"sync"

	"github.com/provisiond/provisiond/catalog"
)

// dirWriter is what writes API changes (and, with a shared store, other
// replicas' changes) into the catalog directory: the *writeBack. The
// loader holds it (Lock) while it reads and loads the directory, so that
// no change's files are half written when the directory is read; checks,
// before reading, that the directory holds every change the store has
// (beforeLoad), and again against the stored catalog the load replaces
// (unchanged); and says what the directory holds once a load is served
// (loaded).
type dirWriter interface {
	sync.Locker
	beforeLoad() error
	unchanged(stored *catalog.Catalog) error
	loaded(c *catalog.Catalog)
}

// finished waits for the load of --catalog in the background, if one is
// running, without cancelling it, and returns its refusal (nil when it
// was served, or when there was no load in the background).
func (l *catalogLoader) finished() error {
	l.bg.Wait()
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	return l.refused
}

// loading reports whether --catalog is loading in the background while
// the stored catalog is served.
func (l *catalogLoader) loading() bool {
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	return l.served == servedStoredWhile
}

// awaitDHCPPool makes full DHCP mode's start-up check (its --dhcp-range
// pool must exist) see the catalog it will serve: when the stored catalog
// served during a background load of --catalog lacks the pool (a pool
// added to the directory with the flag that names it), the check waits
// for the directory's catalog instead of refusing the start over a
// catalog about to be replaced. has says whether the served catalog has
// the pool.
func (l *catalogLoader) awaitDHCPPool(pool string, has func() bool) error {
	if has() {
		return nil
	}
	if l.loading() {
		l.log.Info(fmt.Sprintf("the stored catalog has no pool %q (--dhcp-range): full DHCP starts once %s is loaded", pool, l.dir),
			"pool", pool, "dir", l.dir)
	}
	// Without a load in the background this returns at once: nil, or
	// the refusal of one that already ended (its pool does not matter).
	return l.finished()
}
