package admin

import (
	"io"
	"net/http"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/storage"
)

// CatalogChange is the answer to a write of /api/v1/catalog: what changed,
// object by object ("groups/web"), and whether it was a dry run.
type CatalogChange struct {
	catalog.Changes
	DryRun bool   `json:"dry_run,omitempty"`
	ETag   string `json:"etag"`
}

// getCatalog answers the whole catalog as a catalog.Document, with the
// ETag a PUT of the whole catalog can be made conditional on.
func (a *API) getCatalog(w http.ResponseWriter, r *http.Request) {
	doc := catalog.New().Document()
	if snap := a.cfg.Catalogs.Current(); snap != nil {
		doc = snap.Catalog.Document()
	}
	w.Header().Set("ETag", etagOf(doc))
	writeJSON(w, http.StatusOK, doc)
}

// writeCatalog changes many objects in one transaction: POST merges the
// document's objects into the catalog (create or replace each; nothing is
// deleted), PUT replaces the whole catalog with the document (objects it
// does not list are deleted). Either all of it lands or nothing does, so
// a group and the profile it names can be written together.
func (a *API) writeCatalog(replace bool) http.HandlerFunc {
	op := "merge"
	if replace {
		op = "replace"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body) // limitBody allows 8 times MaxBodyBytes here
		if err != nil {
			writeAPIError(w, r, err)
			return
		}
		part, err := catalog.DecodeDocument(body)
		if err != nil {
			writeAPIError(w, r, err)
			return
		}
		allow := r.URL.Query().Get("allow_release") == "true"
		if replace {
			// A whole-catalog replace that would drop every group or
			// release registered machines' leases is refused (409,
			// listing them; storage.GuardReleases) unless the request says
			// allow_release=true.
			r = r.WithContext(storage.GuardReleases(r.Context(), allow))
		}
		var changes catalog.Changes
		var old *catalog.Catalog
		snap, ok := a.update(w, r, op, "catalog", func(c *catalog.Catalog) error {
			if err := checkPreconditions(r, true, etagOf(c.Document())); err != nil {
				return err
			}
			before := c.Clone()
			old = before
			if replace {
				*c = *part
			} else {
				c.Merge(part)
			}
			changes = catalog.Diff(before, c)
			return nil
		})
		if !ok {
			return
		}
		dry := w.Header().Get("X-Provisiond-Dry-Run") == "true"
		if dry && replace {
			// A dry run never reaches the store's guard: foresee its
			// refusal, so that apply --prune --dry-run says what the
			// real apply would.
			if err := storage.CheckReleases(old, snap.Catalog, storage.PlanLeases(old, snap), a.cfg.Leases.All(), allow); err != nil {
				writeAPIError(w, r, err)
				return
			}
		}
		if !dry {
			a.log.Info("admin catalog change", "op", op, "created", len(changes.Created), "updated", len(changes.Updated),
				"deleted", len(changes.Deleted), "who", identityFrom(r.Context()))
		}
		etag := etagOf(snap.Catalog.Document())
		w.Header().Set("ETag", etag)
		writeJSON(w, http.StatusOK, CatalogChange{Changes: changes, DryRun: dry, ETag: etag})
	}
}
