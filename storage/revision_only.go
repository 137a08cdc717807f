package storage

import (
	"context"
	"time"
)

// revisionReader is implemented by a Store that can tell the stored
// catalog's revision without decoding the catalog (bbolt: a walk of the
// stored bytes). commit uses it to skip decoding a stored catalog that is
// the one being served: at 100,000 groups that decode is a third copy of
// the catalog in memory while a directory replaces it (the served one and
// the directory's are the other two), and a tenth of a second or more.
type revisionReader interface {
	// CatalogRevision returns the revision LoadCatalogRevision would
	// return now; ok is false when the store cannot tell it without
	// reading the catalog (then the caller reads it).
	CatalogRevision(ctx context.Context) (rev Revision, ok bool, err error)
}

// CatalogRevision implements revisionReader for the wrapped store, timed
// as load_catalog (it is a catalog read); ok is false when the wrapped
// store cannot tell the revision alone.
func (t *Timed) CatalogRevision(ctx context.Context) (Revision, bool, error) {
	r, ok := t.Store.(revisionReader)
	if !ok {
		return 0, false, nil
	}
	defer t.observe("load_catalog", time.Now())
	rev, ok, err := r.CatalogRevision(ctx)
	return rev, ok, t.named(err)
}

// storedRevision returns the stored catalog's revision when s can tell it
// without decoding the catalog; ok is false otherwise.
func storedRevision(ctx context.Context, s Store) (Revision, bool, error) {
	r, ok := s.(revisionReader)
	if !ok {
		return 0, false, nil
	}
	return r.CatalogRevision(ctx)
}
