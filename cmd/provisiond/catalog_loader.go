package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/storage"
)

// catalogLoader loads --catalog into the store and the server, at start
// and on SIGHUP.
type catalogLoader struct {
	dir      string
	catalogs *storage.Catalogs
	log      *slog.Logger
	// lastLoaded is the directory's content at the last load, stored the
	// catalog in the store that the first one replaced, as the write read
	// it (see reportOverwrites; nil outside the first load).
	lastLoaded, stored *catalog.Catalog
	// allowRelease is --allow-release: the load at start may release
	// (storage.CheckReleases); reloads never may.
	allowRelease bool
	// assetsDir is --assets-dir ("" when no assets are served): each
	// load logs the kernels and initrds its profiles name that it lacks.
	assetsDir string

	// dirw, when not nil, writes changes into the directory (see
	// dirWriter); a load holds it.
	dirw dirWriter

	// loadMu makes loads one at a time: the one at start, in the
	// background, and SIGHUP's.
	loadMu sync.Mutex
	// bg is the load at start in the background (stopBG cancels it).
	bg     sync.WaitGroup
	stopBG context.CancelFunc
	// loadDir reads the directory: catalog.LoadDirOver of the served
	// catalog when nil (a test holds a load in the background with its
	// own).
	loadDir func(string) (*catalog.Catalog, error)
	// fail ends the process with a refusal of --catalog found in the
	// background (loadInBackground).
	fail func(error)
	// served and refused are what /readyz says (readiness).
	stateMu sync.Mutex
	served  served
	refused error
}

// served says which catalog is being served, for /readyz (readiness).
type served int

const (
	servedNone        served = iota
	servedStoredOnly         // no --catalog: the stored catalog
	servedStoredWhile        // the stored catalog while --catalog loads
	servedStoredOver         // the stored catalog: --catalog was refused
	servedDir                // --catalog's
)

func (l *catalogLoader) initial(ctx context.Context) (*catalog.Snapshot, error) {
	if l.dir == "" {
		snap, warnings, err := l.catalogs.LoadStored(ctx)
		l.warn(warnings)
		if err != nil {
			return nil, err
		}
		c := snap.Catalog
		l.warnAssets(c)
		if len(c.Groups) == 0 && len(c.Profiles) == 0 {
			l.log.Warn("no catalog: every machine is answered 404. Give one with --catalog DIR (a matchbox-layout directory such as examples/production; PROVISIOND_CATALOG), or load one into the store with 'provisiond apply -f DIR' or 'provisiond import-matchbox DIR'")
		}
		l.log.Info("serving the stored catalog (no --catalog)", "profiles", len(c.Profiles), "groups", len(c.Groups))
		l.setServed(servedStoredOnly, nil)
		return snap, nil
	}
	guarded := storage.GuardReleases(ctx, l.allowRelease)
	// A store that already holds a catalog (a restart, an upgrade) serves
	// it while the directory loads (loadInBackground); a first start
	// loads the directory before serving anything, and refuses to start
	// when it does not load.
	snap, warnings, ok, err := l.catalogs.LoadStoredIfAny(ctx)
	if err != nil {
		// A damaged store fails the directory's write the same way,
		// with the same message; a stored catalog this version refuses
		// is replaced by the directory's.
		l.log.Warn("the stored catalog does not load; loading --catalog before serving", "dir", l.dir, "err", err)
	}
	if err != nil || !ok {
		snap, err := l.load(guarded)
		if err != nil {
			return nil, fmt.Errorf("--catalog %s: %w", l.dir, err)
		}
		l.setServed(servedDir, nil)
		return snap, nil
	}
	l.warn(warnings)
	rev, _ := l.catalogs.Revision()
	c := snap.Catalog
	l.log.Info(fmt.Sprintf("serving the stored catalog (revision %016x) while %s loads", uint64(rev), l.dir),
		"dir", l.dir, "profiles", len(c.Profiles), "groups", len(c.Groups))
	l.setServed(servedStoredWhile, nil)
	bg, cancel := context.WithCancel(context.WithoutCancel(guarded))
	l.stopBG = cancel
	l.bg.Add(1)
	go l.loadInBackground(bg, rev)
	return snap, nil
}

// loadInBackground loads --catalog over the stored catalog (revision
// rev) being served: the directory's catalog is served once it is
// loaded, checked and written. A directory that is refused (it does not
// load, or the release guard refuses it) is logged as an ERROR naming the
// flag and the cause, and ends the process through fail with that error,
// as a refused --catalog ends the start without a stored catalog: the
// stored catalog was served only while the directory loaded.
func (l *catalogLoader) loadInBackground(ctx context.Context, rev storage.Revision) {
	defer l.bg.Done()
	snap, err := l.load(ctx)
	// Another replica's change landed between the directory's merge with
	// the store and the load's write (the write refused to undo it): the
	// next attempt merges it in.
	for attempt := 1; errors.Is(err, errStoredMoved) && attempt < maxStartAttempts && ctx.Err() == nil; attempt++ {
		l.log.Info("another replica changed the stored catalog while --catalog loaded; loading it again", "dir", l.dir, "attempt", attempt+1)
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
		snap, err = l.load(ctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			return // stopping
		}
		err = fmt.Errorf("--catalog %s: %w", l.dir, err)
		l.log.Error(fmt.Sprintf("--catalog %s refused; stopping (the stored catalog, revision %016x, was served while it loaded)", l.dir, uint64(rev)),
			"dir", l.dir, "err", err)
		l.setServed(servedStoredOver, err)
		if l.fail != nil {
			l.fail(err)
		}
		return
	}
	now, _ := l.catalogs.Revision()
	c := snap.Catalog
	l.log.Info(fmt.Sprintf("catalog directory loaded: serving %s (revision %016x) in place of the stored catalog (revision %016x)", l.dir, uint64(now), uint64(rev)),
		"dir", l.dir, "profiles", len(c.Profiles), "groups", len(c.Groups))
	l.setServed(servedDir, nil)
	// The load's garbage and the stored catalog it replaced go back to
	// the OS now, as after a load before serving (daemon.go).
	returnLoadMemory()
}

// maxStartAttempts bounds the loads at start that other replicas' writes
// refuse (errStoredMoved).
const maxStartAttempts = 10

// wait stops and waits for a load in the background; the load gives up
// before its write when it has not begun it yet.
func (l *catalogLoader) wait() {
	if l.stopBG != nil {
		l.stopBG()
	}
	l.bg.Wait()
}

func (l *catalogLoader) setServed(s served, refused error) {
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	l.served, l.refused = s, refused
}

// readiness is /readyz's answer: which catalog is served; not ready once
// --catalog was refused at start (the process is stopping).
func (l *catalogLoader) readiness() (bool, string) {
	l.stateMu.Lock()
	s, refused := l.served, l.refused
	l.stateMu.Unlock()
	rev, ok := l.catalogs.Revision()
	if !ok {
		return false, "catalog not loaded"
	}
	switch s {
	case servedStoredOnly:
		return true, fmt.Sprintf("serving the stored catalog (revision %016x)", uint64(rev))
	case servedStoredWhile:
		return true, fmt.Sprintf("serving the stored catalog (revision %016x) while --catalog %s loads", uint64(rev), l.dir)
	case servedStoredOver:
		return false, fmt.Sprintf("serving the stored catalog (revision %016x) while stopping: %v", uint64(rev), refused)
	case servedDir:
		return true, fmt.Sprintf("serving --catalog %s (revision %016x)", l.dir, uint64(rev))
	}
	return false, "catalog not loaded"
}

// load reads the directory and makes it the catalog. Loads are one at a
// time (the one at start in the background, SIGHUP's), and the catalog
// lock is held from the directory read to the write, so that no admin
// API write lands in between and is lost to a directory read before it.
func (l *catalogLoader) load(ctx context.Context) (*catalog.Snapshot, error) {
	l.loadMu.Lock()
	defer l.loadMu.Unlock()
	if l.dirw != nil {
		l.dirw.Lock()
		defer l.dirw.Unlock()
		if err := l.dirw.beforeLoad(); err != nil {
			return nil, err
		}
	}
	gc := loadGCPercent
	if l.catalogs.Current() != nil {
		gc = overLoadGCPercent // beside the served catalog
	}
	defer tightenGC(gc)()
	start := time.Now()
	var before *catalog.Snapshot
	var over func(*catalog.Catalog)
	c, snap, warnings, err := l.catalogs.ReplaceLoaded(ctx, func() (*catalog.Catalog, error) {
		before = l.catalogs.Current()
		var c *catalog.Catalog
		var err error
		if l.loadDir != nil {
			c, err = l.loadDir(l.dir)
		} else {
			// The directory's groups equal to the served ones are the
			// served objects: one copy of them in memory, not two.
			var prev *catalog.Catalog
			if before != nil {
				prev = before.Catalog
			}
			c, err = catalog.LoadDirOver(l.dir, prev)
		}
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l.warnAssets(c)
		if before == nil {
			// The first load reports what it overwrote in the stored
			// catalog (reportOverwrites): the one the write itself read
			// and replaced.
			over = func(stored *catalog.Catalog) { l.stored = stored }
		}
		return c, nil
	}, func(stored *catalog.Catalog) error {
		if over != nil {
			over(stored)
		}
		if l.dirw != nil {
			return l.dirw.unchanged(stored)
		}
		return nil
	})
	l.warn(warnings)
	if err != nil {
		l.stored = nil
		return nil, err
	}
	if l.dirw != nil {
		l.dirw.loaded(c)
	}
	l.reportOverwrites(before, c)
	l.stored = nil // only the first load compares with it: do not keep a second catalog alive
	l.log.Info("catalog loaded", "dir", l.dir, "profiles", len(c.Profiles), "groups", len(c.Groups),
		"templates", len(c.Templates["ignition"])+len(c.Templates["cloud"])+len(c.Templates["generic"]),
		"pools", len(c.Pools), "machines", len(c.Machines), "duration", time.Since(start))
	if len(c.Groups) == 0 {
		l.log.Warn("the catalog directory has no groups: every machine is answered 404. Add groups/*.json (see examples/)", "dir", l.dir)
	}
	return snap, nil
}

func (l *catalogLoader) reload(ctx context.Context) {
	if _, err := l.load(storage.GuardReleases(ctx, false)); err != nil {
		l.log.Error("catalog reload refused; still serving the previous catalog", "dir", l.dir, "err", err)
		return
	}
	l.setServed(servedDir, nil)
}

func (l *catalogLoader) warn(warnings []string) {
	for _, w := range warnings {
		l.log.Warn("catalog", "warning", strings.TrimSpace(w))
	}
}

// warnAssets logs every asset a profile of c names under /assets/ that
// the assets directory lacks, as `provisiond validate` reports them: a
// machine would otherwise download "404 page not found" as its kernel.
func (l *catalogLoader) warnAssets(c *catalog.Catalog) {
	for _, p := range catalog.MissingAssets(c, l.assetsDir) {
		l.log.Warn("missing asset", "problem", p.String())
	}
}
