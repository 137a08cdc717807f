package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/storage"
)

// catalogEditor is what the gRPC and admin APIs read and write the catalog
// through (rpc.Catalog and admin.Catalogs): a *storage.Catalogs, or a
// *writeBack over one when there is a catalog directory.
type catalogEditor interface {
	Current() *catalog.Snapshot
	Update(ctx context.Context, fn func(*catalog.Catalog) error) (*catalog.Snapshot, []string, error)
}

// newCatalogEditor returns catalogs itself without a catalog directory
// (API changes live in the store), and a writeBack into dir with one.
func newCatalogEditor(dir string, catalogs *storage.Catalogs, log *slog.Logger) catalogEditor {
	if dir == "" {
		return catalogs
	}
	return &writeBack{Catalogs: catalogs, dir: dir, log: log}
}

// writeBack keeps the catalog directory the source of truth: every change
// made through the APIs is written back into it (catalog.WriteBack: one
// file per object, matchbox's names, each replaced atomically), so that a
// reload or a restart reads the change back instead of undoing it, and the
// directory can live in git. A change whose files cannot be written is
// undone in the store and the served catalog, and refused: the directory
// and the catalog served never disagree because of an API write.
//
// With a shared store (etcd), the changes other replicas take reach this
// replica through the store's watch, and are written into the directory
// too (followed), so that this replica's next reload or restart does not
// undo them.
type writeBack struct {
	*storage.Catalogs
	dir string
	log *slog.Logger
	// mu makes each change and its files one step: the files of two
	// changes are never written in the other order, and no directory
	// load reads the directory while a change's files are being written
	// (the loader holds it: catalogLoader.writes).
	mu sync.Mutex
	// disk is the catalog the directory holds, with the files its objects
	// were read from (Sources): set by each load of the directory that
	// is served (loaded) and by each change written back; nil before the
	// first. Under mu.
	disk *catalog.Catalog
	// behind is why the last write of other replicas' changes into the
	// directory failed (nil when it holds them all): a reload of the
	// directory is refused while it lacks them. Under mu.
	behind error
	// With a store that keeps the catalog's history (etcd): origin names
	// it (catalogHistory.CatalogOrigin), and base is the stored catalog
	// the directory was brought up to date with before its first load
	// (mergeAtStart), which that load must still replace (unchanged).
	// Under mu.
	origin string
	base   *catalog.Catalog
	// history is the store when it keeps the catalog's history (etcd);
	// nil for bbolt, where this process is the only writer.
	history catalogHistory
	// marked is the revision the directory's mark last recorded (0:
	// none written by this process), so that a follow that changed
	// nothing does not rewrite it. Under mu.
	marked storage.Revision
}

// catalogHistory is a shared store that keeps the catalog's past versions
// (etcd): a directory records the revision it holds (catalog.SyncMark),
// and a replica that was stopped while others changed the store merges
// their changes into its directory at start instead of loading the
// directory over them (mergeAtStart).
type catalogHistory interface {
	CatalogOrigin(ctx context.Context) (string, error)
	LoadCatalogAt(ctx context.Context, rev storage.Revision) (*catalog.Catalog, error)
}

// errStoredMoved is a load's refusal because another replica changed the
// stored catalog after the directory was brought up to date with it: the
// load at start tries again (the change is then merged in).
var errStoredMoved = errors.New("the stored catalog changed after the directory was brought up to date")

// Update implements catalogEditor.
func (w *writeBack) Update(ctx context.Context, fn func(*catalog.Catalog) error) (*catalog.Snapshot, []string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var prev *catalog.Catalog
	snap, warnings, err := w.Catalogs.Update(ctx, func(next *catalog.Catalog) error {
		prev = next.Clone() // the catalog before the change, under Catalogs' lock
		return fn(next)
	})
	if err != nil {
		return snap, warnings, err
	}
	// The files change from what the directory holds: that is the stored
	// catalog before this change, unless another replica's change has
	// not been written into it yet (then it is written with this one).
	from := w.disk
	if from == nil {
		from = prev
	}
	target := withSources(snap.Catalog, from)
	ch, err := catalog.WriteBack(w.dir, from, target)
	if err == nil {
		w.disk, w.behind = target, nil
		if !ch.Empty() {
			w.log.Debug("catalog change written back", "dir", w.dir, "written", strings.Join(append(ch.Created, ch.Updated...), " "), "removed", strings.Join(ch.Deleted, " "))
		}
		w.markLocked(snap)
		return snap, warnings, nil
	}
	err = fmt.Errorf("writing the change into --catalog %s: %w", w.dir, err)
	// Undo: the files written so far are written again as they were, and
	// the store and the served catalog go back to prev.
	if _, werr := catalog.WriteBack(w.dir, target, from); werr != nil {
		w.log.Error("restoring the catalog directory's files", "dir", w.dir, "err", werr)
	}
	if _, _, uerr := w.Catalogs.Replace(ctx, prev); uerr != nil {
		w.log.Error("catalog change could not be written back nor undone: the next reload of --catalog drops it", "dir", w.dir, "err", err, "undo", uerr)
		return nil, warnings, err
	}
	w.log.Error("catalog change undone: it could not be written back into --catalog", "dir", w.dir, "err", err)
	return nil, warnings, err
}

// followed writes into the directory what the served catalog (just
// reloaded from the shared store) has that the directory does not: the
// changes other replicas took. It is FollowThen's after.
func (w *writeBack) followed() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.syncLocked(); err != nil {
		w.log.Error("another replica's catalog change could not be written into --catalog; it is served, and a reload of the directory is refused until it is written (with the next change, or at the reload)", "dir", w.dir, "err", err)
	}
}

// syncLocked writes the served catalog's differences from what the
// directory holds into it, and records a failure in behind. Nothing
// before the directory's first load is served.
func (w *writeBack) syncLocked() error {
	if w.disk == nil {
		return nil
	}
	cur := w.Catalogs.Current()
	if cur == nil {
		return nil
	}
	target := withSources(cur.Catalog, w.disk)
	ch, err := catalog.WriteBack(w.dir, w.disk, target)
	if err != nil {
		w.behind = fmt.Errorf("writing other replicas' catalog changes into --catalog %s: %w", w.dir, err)
		return w.behind
	}
	w.disk, w.behind = target, nil
	if !ch.Empty() {
		w.log.Info("other replicas' catalog changes written into --catalog", "dir", w.dir, "written", strings.Join(append(ch.Created, ch.Updated...), " "), "removed", strings.Join(ch.Deleted, " "))
	}
	w.markLocked(cur)
	return nil
}

// Lock and Unlock make the writeBack the loader's writes (a sync.Locker):
// a load of the directory runs while no change's files are being written.
// Before the directory is read, the changes other replicas took that are
// not in it yet are written (a reload must not undo them); when that
// fails, the load is refused (beforeLoad).
func (w *writeBack) Lock()   { w.mu.Lock() }
func (w *writeBack) Unlock() { w.mu.Unlock() }

// beforeLoad is the loader's check before it reads the directory, with
// mu held: the directory must hold every change the store has that it
// was not loaded with.
func (w *writeBack) beforeLoad() error {
	if w.disk == nil {
		return w.mergeAtStart()
	}
	if err := w.syncLocked(); err != nil {
		return fmt.Errorf("%w; the directory lacks changes another replica took, so loading it would undo them: fix the cause and reload", err)
	}
	return nil
}

// unchanged is the loader's check of the stored catalog its write
// replaces, with mu held: it must be what the directory holds, apart from
// the directory's own edits being loaded. A change another replica wrote
// after beforeLoad (and that this replica has not followed yet) would be
// undone by the load: the load is refused, and the change is written into
// the directory when it is followed, a moment later.
func (w *writeBack) unchanged(stored *catalog.Catalog) error {
	held := w.disk
	if held == nil {
		// The load at start: the stored catalog the directory was
		// brought up to date with (mergeAtStart), if it was; else the
		// directory is the source of truth.
		if held = w.base; held == nil {
			return nil
		}
	}
	ch := catalog.Diff(held, stored)
	if ch.Empty() {
		return nil
	}
	refs := slices.Concat(ch.Created, ch.Updated, ch.Deleted)
	if len(refs) > 5 {
		refs = append(refs[:5:5], fmt.Sprintf("and %d more", len(refs)-5))
	}
	return fmt.Errorf("another replica changed the stored catalog (%s) after --catalog %s was brought up to date: loading the directory now would undo that change; it is written into the directory as soon as this replica follows it (well under a second): reload again: %w", strings.Join(refs, ", "), w.dir, errStoredMoved)
}

// loaded records, with mu held, that the directory holds c, just loaded
// and served.
func (w *writeBack) loaded(c *catalog.Catalog) {
	w.disk, w.behind, w.base = c, nil, nil
	if w.Catalogs != nil {
		if cur := w.Catalogs.Current(); cur != nil && cur.Catalog == c {
			w.markLocked(cur)
		}
	}
}

// markLocked records in the directory (catalog.SyncMark) that it holds
// snap's stored revision, with mu held, when the store keeps history and
// snap is still the one served (a newer revision would claim changes the
// directory lacks; an older one is only a larger merge at the next
// start). A mark that cannot be written is logged: the older one stays.
func (w *writeBack) markLocked(snap *catalog.Snapshot) {
	if w.origin == "" || w.Catalogs == nil {
		return
	}
	rev, ok := w.Catalogs.RevisionOf(snap)
	if !ok || rev == 0 || rev == w.marked {
		return
	}
	if err := catalog.WriteSyncMark(w.dir, catalog.SyncMark{Origin: w.origin, Revision: uint64(rev)}); err != nil {
		w.log.Warn("recording the stored catalog revision --catalog holds", "dir", w.dir, "revision", uint64(rev), "err", err)
		return
	}
	w.marked = rev
}

// mergeAtStart brings the directory up to date with the shared store
// before its first load, with mu held: a replica that was stopped while
// other replicas changed the store would otherwise load its directory
// over their acknowledged changes. The directory's mark
// (catalog.SyncMark) says which stored revision it last held; the
// changes made since in the store are merged into its files
// (catalog.Merge3), the directory's own edits since are kept, and an
// object both changed differently refuses the start, naming it. Without
// a mark (the directory's first start), with a mark of another store, or
// with an empty store, the directory is loaded over the store, as
// always.
func (w *writeBack) mergeAtStart() error {
	h := w.history
	if h == nil || w.Catalogs == nil {
		return nil // bbolt: this process is the only writer
	}
	ctx := context.Background()
	origin, err := h.CatalogOrigin(ctx)
	if err != nil {
		return err
	}
	w.origin = origin
	mark, ok, err := catalog.ReadSyncMark(w.dir)
	if err != nil {
		return err
	}
	markFile := filepath.Join(w.dir, catalog.SyncMarkFile)
	cur := w.Catalogs.Current()
	rev, revOK := w.Catalogs.RevisionOf(cur)
	switch {
	case !ok:
		w.log.Info("--catalog has no record of a stored revision (its first start on this store): loading it over the store", "dir", w.dir, "file", markFile)
		return nil
	case mark.Origin != origin:
		w.log.Warn(fmt.Sprintf("%s is of another store (%s); this one is %s: loading --catalog over the store", markFile, mark.Origin, origin), "dir", w.dir)
		return nil
	case !revOK || rev == 0:
		w.log.Warn(fmt.Sprintf("the store holds no catalog, though --catalog last held its revision %d (%s): loading the directory", mark.Revision, markFile), "dir", w.dir)
		return nil
	case uint64(rev) == mark.Revision:
		w.base = cur.Catalog // nobody changed the store since
		return nil
	}
	// Other replicas changed the store while this one was stopped.
	dir, err := catalog.LoadDir(w.dir)
	if err != nil {
		return err // the load refuses it the same way
	}
	if catalog.Diff(dir, cur.Catalog).Empty() {
		w.base = cur.Catalog
		return nil
	}
	base, err := h.LoadCatalogAt(ctx, storage.Revision(mark.Revision))
	if err != nil {
		return fmt.Errorf("other replicas changed the stored catalog (revision %d to %d) since --catalog %s was last brought up to date, and its revision %d cannot be read to tell their changes from the directory's own: %w; to load the directory over the store anyway (its files win wherever they differ), delete %s",
			mark.Revision, uint64(rev), w.dir, mark.Revision, err, markFile)
	}
	merged, taken, conflicts := catalog.Merge3(base, cur.Catalog, dir)
	if len(conflicts) > 0 {
		return fmt.Errorf("while this replica was stopped, other replicas changed %s in the store (revision %d to %d), and the directory's files changed them too: keep one version of each: copy the stored one into its file (provisiond get KIND ID -o json), or delete %s to load the directory's over the store",
			strings.Join(conflicts, ", "), mark.Revision, uint64(rev), markFile)
	}
	if len(taken) > 0 {
		if _, err := catalog.WriteBack(w.dir, dir, merged); err != nil {
			return fmt.Errorf("writing the changes other replicas took while this replica was stopped (%s) into --catalog %s: %w", strings.Join(taken, ", "), w.dir, err)
		}
		w.log.Info(fmt.Sprintf("changes other replicas took while this replica was stopped (revision %d to %d) written into --catalog", mark.Revision, uint64(rev)),
			"dir", w.dir, "objects", strings.Join(taken, " "))
	}
	w.base = cur.Catalog
	return nil
}

// withSources is c with the files the directory's objects were read from
// (from's Sources) for the objects c names no file for: a catalog read
// back from the store has none, and a change written without them would
// land in a second file (groups/ID.json beside groups/install.json). The
// groups read from their usual file need no entry: WriteBack writes a
// group without one to that file.
func withSources(c, from *catalog.Catalog) *catalog.Catalog {
	if from == nil {
		return c
	}
	var missing bool
	for ref := range from.Sources.Named() {
		if _, ok := c.Sources.Get(ref); !ok {
			missing = true
			break
		}
	}
	if !missing {
		return c
	}
	t := *c
	t.Sources = c.Sources.With(&from.Sources)
	return &t
}
