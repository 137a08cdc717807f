package main

import (
	"context"
	"fmt"
	"log/slog"
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
type writeBack struct {
	*storage.Catalogs
	dir string
	log *slog.Logger
	// mu makes each change and its files one step: the files of two
	// changes are never written in the other order.
	mu sync.Mutex
}

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
	ch, err := catalog.WriteBack(w.dir, prev, snap.Catalog)
	if err == nil {
		if !ch.Empty() {
			w.log.Debug("catalog change written back", "dir", w.dir, "written", strings.Join(append(ch.Created, ch.Updated...), " "), "removed", strings.Join(ch.Deleted, " "))
		}
		return snap, warnings, nil
	}
	err = fmt.Errorf("writing the change into --catalog %s: %w", w.dir, err)
	// Undo: the files written so far are written again as they were, and
	// the store and the served catalog go back to prev.
	if _, werr := catalog.WriteBack(w.dir, snap.Catalog, prev); werr != nil {
		w.log.Error("restoring the catalog directory's files", "dir", w.dir, "err", werr)
	}
	if _, _, uerr := w.Catalogs.Replace(ctx, prev); uerr != nil {
		w.log.Error("catalog change could not be written back nor undone: the next reload of --catalog drops it", "dir", w.dir, "err", err, "undo", uerr)
		return nil, warnings, err
	}
	w.log.Error("catalog change undone: it could not be written back into --catalog", "dir", w.dir, "err", err)
	return nil, warnings, err
}
