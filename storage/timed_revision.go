package storage

import (
	"context"
	"time"

	"github.com/provisiond/provisiond/catalog"
)

// The compare-and-swap pair is timed under the names of the calls it
// replaced in Apply, so that load_catalog and replace_catalog keep
// measuring every catalog read and write.

// LoadCatalogRevision implements Store.
func (t *Timed) LoadCatalogRevision(ctx context.Context) (*catalog.Catalog, Revision, error) {
	defer t.observe("load_catalog", time.Now())
	return t.Store.LoadCatalogRevision(ctx)
}

// ReplaceCatalogAt implements Store.
func (t *Timed) ReplaceCatalogAt(ctx context.Context, rev Revision, c *catalog.Catalog, ops []LeaseOp) (Revision, error) {
	defer t.observe("replace_catalog", time.Now())
	return t.Store.ReplaceCatalogAt(ctx, rev, c, ops)
}
