package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
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
}

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
		return snap, nil
	}
	snap, err := l.load(storage.GuardReleases(ctx, l.allowRelease))
	if err != nil {
		return nil, fmt.Errorf("--catalog %s: %w", l.dir, err)
	}
	return snap, nil
}

func (l *catalogLoader) load(ctx context.Context) (*catalog.Snapshot, error) {
	start := time.Now()
	c, err := catalog.LoadDir(l.dir)
	if err != nil {
		return nil, err
	}
	l.warnAssets(c)
	before := l.catalogs.Current()
	var over func(*catalog.Catalog)
	if before == nil {
		// The first load reports what it overwrote in the stored catalog
		// (reportOverwrites): the one the write itself read and replaced.
		over = func(stored *catalog.Catalog) { l.stored = stored }
	}
	snap, warnings, err := l.catalogs.ReplaceOver(ctx, c, over)
	l.warn(warnings)
	if err != nil {
		l.stored = nil
		return nil, err
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
	}
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
