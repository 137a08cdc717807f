package admin

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/provisiond/provisiond/catalog"
)

// maxWarningHeaders bounds the X-Provisiond-Warning headers of a write.
const maxWarningHeaders = 20

// update makes one catalog change through Catalogs.Update: fn edits a copy
// of the current catalog, which is then validated exactly as a catalog
// directory is, written to the store and served. With ?dry_run=true the
// result is only validated (lease conflicts with the store are found by a
// real write only). On failure update answers the error and returns false;
// a refused delete is a 409, since the catalog would no longer hold
// together without the object.
func (a *API) update(w http.ResponseWriter, r *http.Request, op, ref string, fn func(*catalog.Catalog) error) (*catalog.Snapshot, bool) {
	dry, _ := strconv.ParseBool(r.URL.Query().Get("dry_run"))
	// The catalog serves dangling references (matchbox's gRPC API writes
	// them), but the REST API refuses a change that makes a new one. prev
	// is read before Update, which holds the lock that Current takes.
	var prev *catalog.Catalog
	if cur := a.cfg.Catalogs.Current(); cur != nil {
		prev = cur.Catalog
	}
	edit := fn
	fn = func(next *catalog.Catalog) error {
		if err := edit(next); err != nil {
			return err
		}
		return catalog.NewDangling(prev, next)
	}
	var snap *catalog.Snapshot
	var warnings []string
	var err error
	if dry {
		next := catalog.New()
		if cur := a.cfg.Catalogs.Current(); cur != nil {
			next = cur.Catalog.Clone()
		}
		if err = fn(next); err == nil {
			snap, warnings, err = catalog.Compile(next, a.cfg.Leases, catalog.Options{})
		}
		w.Header().Set("X-Provisiond-Dry-Run", "true")
	} else {
		snap, warnings, err = a.cfg.Catalogs.Update(r.Context(), fn)
	}
	setWarnings(w, warnings)
	if err != nil {
		ae := toAPI(err)
		if op == "delete" {
			ae = toAPI(&deleteError{ref, err})
		}
		a.log.Info("admin change refused", "op", op, "ref", ref, "who", identityFrom(r.Context()), "status", ae.Code, "err", err)
		a.metrics.changes.WithLabelValues(op, "refused").Inc()
		writeAPIError(w, r, ae)
		return nil, false
	}
	if dry {
		return snap, true
	}
	a.metrics.changes.WithLabelValues(op, "ok").Inc()
	a.log.Info("admin change", "op", op, "ref", ref, "who", identityFrom(r.Context()))
	if a.cfg.CatalogDir != "" && !a.cfg.WritesBack {
		w.Header().Set("Warning", `299 provisiond "the catalog is loaded from --catalog `+strings.ReplaceAll(a.cfg.CatalogDir, `"`, `'`)+`: this change lasts until the next reload (SIGHUP or restart) replaces the catalog with the directory's content"`)
	}
	return snap, true
}

func setWarnings(w http.ResponseWriter, warnings []string) {
	for i, warn := range warnings {
		if i == maxWarningHeaders {
			w.Header().Add("X-Provisiond-Warning", strconv.Itoa(len(warnings)-i)+" more warnings in the server log")
			break
		}
		w.Header().Add("X-Provisiond-Warning", strings.ReplaceAll(strings.TrimSpace(warn), "\n", " "))
	}
}
