package admin

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/profiles"
)

// TemplateInfo is one template in a listing.
type TemplateInfo struct {
	Kind profiles.Kind `json:"kind"`
	Name string        `json:"name"`
	Size int           `json:"size"`
	ETag string        `json:"etag"`
}

func templateKind(r *http.Request) (profiles.Kind, error) {
	k, err := profiles.ParseKind(chi.URLParam(r, "kind"))
	if err != nil {
		return "", &apiError{Code: http.StatusNotFound, Msg: err.Error(), Field: "kind"}
	}
	return k, nil
}

// listTemplates lists templates (of one kind under /templates/{kind}).
func (a *API) listTemplates(w http.ResponseWriter, r *http.Request) {
	kinds := profiles.Kinds
	if chi.URLParam(r, "kind") != "" {
		k, err := templateKind(r)
		if err != nil {
			writeAPIError(w, r, err)
			return
		}
		kinds = []profiles.Kind{k}
	}
	out := []TemplateInfo{}
	if snap := a.cfg.Catalogs.Current(); snap != nil {
		for _, k := range kinds {
			for _, name := range slices.Sorted(maps.Keys(snap.Catalog.Templates[k])) {
				text := snap.Catalog.Templates[k][name]
				out = append(out, TemplateInfo{Kind: k, Name: name, Size: len(text), ETag: etagOf(text)})
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// getTemplate answers a template's raw text.
func (a *API) getTemplate(w http.ResponseWriter, r *http.Request) {
	kind, err := templateKind(r)
	if err != nil {
		writeAPIError(w, r, err)
		return
	}
	name := chi.URLParam(r, "name")
	if snap := a.cfg.Catalogs.Current(); snap != nil {
		if text, ok := snap.Catalog.Template(kind, name); ok {
			w.Header().Set("ETag", etagOf(text))
			w.Header().Set("Content-Type", templateContentType(kind, name))
			w.Header().Set("Cache-Control", "no-store")
			io.WriteString(w, text)
			return
		}
	}
	writeAPIError(w, r, &apiError{Code: http.StatusNotFound, Msg: fmt.Sprintf("%s/%s: not found", kind, name)})
}

func templateContentType(kind profiles.Kind, name string) string {
	if kind == profiles.KindIgnition && profiles.IsRawIgnition(name) {
		return "application/json"
	}
	return "text/plain; charset=utf-8"
}

// putTemplate creates or replaces a template from the raw body. The whole
// catalog is validated with it: its syntax, and, for a Butane template,
// its translation for every group whose profile uses it (errors carry
// Butane's line and column).
func (a *API) putTemplate(w http.ResponseWriter, r *http.Request) {
	kind, err := templateKind(r)
	if err != nil {
		writeAPIError(w, r, err)
		return
	}
	name := chi.URLParam(r, "name")
	if err := checkName("name", name); err != nil {
		writeAPIError(w, r, err)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeAPIError(w, r, err)
		return
	}
	if !utf8.Valid(body) {
		writeAPIError(w, r, &apiError{Code: http.StatusUnprocessableEntity, Msg: "a template must be UTF-8 text"})
		return
	}
	text := string(body)
	ref := string(kind) + "/" + name
	created := false
	_, ok := a.update(w, r, "put", ref, func(c *catalog.Catalog) error {
		cur, exists := c.Template(kind, name)
		if err := checkPreconditions(r, exists, etagOf(cur)); err != nil {
			return err
		}
		created = !exists
		c.Templates[kind][name] = text
		c.Sources.Delete(ref)
		return nil
	})
	if !ok {
		return
	}
	w.Header().Set("ETag", etagOf(text))
	code := http.StatusOK
	if created {
		code = http.StatusCreated
		w.Header().Set("Location", r.URL.Path)
	}
	writeJSON(w, code, TemplateInfo{Kind: kind, Name: name, Size: len(text), ETag: etagOf(text)})
}

// deleteTemplate deletes a template; 409 while a profile names it.
func (a *API) deleteTemplate(w http.ResponseWriter, r *http.Request) {
	kind, err := templateKind(r)
	if err != nil {
		writeAPIError(w, r, err)
		return
	}
	name := chi.URLParam(r, "name")
	ref := string(kind) + "/" + name
	_, ok := a.update(w, r, "delete", ref, func(c *catalog.Catalog) error {
		cur, exists := c.Template(kind, name)
		if !exists {
			return &apiError{Code: http.StatusNotFound, Msg: ref + ": not found"}
		}
		if err := checkPreconditions(r, true, etagOf(cur)); err != nil {
			return err
		}
		delete(c.Templates[kind], name)
		c.Sources.Delete(ref)
		return nil
	})
	if ok {
		w.WriteHeader(http.StatusNoContent)
	}
}
