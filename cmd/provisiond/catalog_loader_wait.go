package main

import (
	"fmt"
)

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
	if has() || !l.loading() {
		return nil
	}
	l.log.Info(fmt.Sprintf("the stored catalog has no pool %q (--dhcp-range): full DHCP starts once %s is loaded", pool, l.dir),
		"pool", pool, "dir", l.dir)
	return l.finished()
}
