package admin

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
)

// objectKind describes one kind of JSON catalog object for the generic
// handlers: how to find, list, decode, store and delete it.
type objectKind struct {
	plural string // "profiles": the route and the reference prefix
	// idField is the JSON field that carries the object's id.
	idField string
	get     func(c *catalog.Catalog, id string) (any, bool)
	ids     func(c *catalog.Catalog) []string
	// decode parses a body; the id is filled from the route when absent.
	decode func(data []byte, id string) (any, error)
	put    func(c *catalog.Catalog, id string, obj any)
	del    func(c *catalog.Catalog, id string)
}

var (
	profileKind = &objectKind{
		plural: "profiles", idField: "id",
		get: func(c *catalog.Catalog, id string) (any, bool) { p, ok := c.Profiles[id]; return p, ok },
		ids: func(c *catalog.Catalog) []string { return slices.Sorted(maps.Keys(c.Profiles)) },
		decode: func(data []byte, id string) (any, error) {
			data, err := withID(data, "id", id)
			if err != nil {
				return nil, err
			}
			return profiles.Decode(data)
		},
		put: func(c *catalog.Catalog, id string, o any) { c.Profiles[id] = o.(*profiles.Profile) },
		del: func(c *catalog.Catalog, id string) { delete(c.Profiles, id) },
	}
	groupKind = &objectKind{
		plural: "groups", idField: "id",
		get: func(c *catalog.Catalog, id string) (any, bool) { g, ok := c.Groups[id]; return g, ok },
		ids: func(c *catalog.Catalog) []string { return slices.Sorted(maps.Keys(c.Groups)) },
		decode: func(data []byte, id string) (any, error) {
			data, err := withID(data, "id", id)
			if err != nil {
				return nil, err
			}
			return groups.Decode(data)
		},
		put: func(c *catalog.Catalog, id string, o any) { c.Groups[id] = o.(*groups.Group) },
		del: func(c *catalog.Catalog, id string) { delete(c.Groups, id) },
	}
	poolKind = &objectKind{
		plural: "pools", idField: "name",
		get: func(c *catalog.Catalog, id string) (any, bool) { p, ok := c.Pools[id]; return p, ok },
		ids: func(c *catalog.Catalog) []string { return slices.Sorted(maps.Keys(c.Pools)) },
		decode: func(data []byte, id string) (any, error) {
			data, err := withID(data, "name", id)
			if err != nil {
				return nil, err
			}
			return ipam.Decode(data)
		},
		put: func(c *catalog.Catalog, id string, o any) { c.Pools[id] = o.(*ipam.Pool) },
		del: func(c *catalog.Catalog, id string) { delete(c.Pools, id) },
	}
	machineKind = &objectKind{
		plural: "machines", idField: "name",
		get: func(c *catalog.Catalog, id string) (any, bool) { m, ok := registration(c, id); return m, ok },
		ids: func(c *catalog.Catalog) []string { return slices.Sorted(maps.Keys(c.Machines)) },
		decode: func(data []byte, id string) (any, error) {
			data, err := withID(data, "name", id)
			if err != nil {
				return nil, err
			}
			return catalog.DecodeMachine(data)
		},
		put: func(c *catalog.Catalog, id string, o any) { c.Machines[id] = o.(*catalog.Machine) },
		del: func(c *catalog.Catalog, id string) { delete(c.Machines, id) },
	}
	// objectKinds are the kinds served by the generic list and get
	// handlers; machines have their own (the inventory view).
	objectKinds = []*objectKind{profileKind, groupKind, poolKind}
)

// validName is what an object id or template name may be: it becomes a
// file name in a matchbox-layout directory.
var validName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._@+-]{0,127}$`)

func checkName(field, name string) error {
	if !validName.MatchString(name) {
		return &apiError{Code: http.StatusBadRequest, Field: field,
			Msg: fmt.Sprintf("%s %q: want 1 to 128 letters, digits and ._@+- (not starting with . or -)", field, name)}
	}
	return nil
}

// withID checks that the body's id field, when present, equals the id in
// the route, and fills it in when absent (as a file name does in a
// catalog directory).
func withID(data []byte, field, id string) ([]byte, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, io.EOF
	}
	if trimmed[0] != '{' {
		return nil, &apiError{Code: http.StatusBadRequest, Msg: "the body must be a JSON object"}
	}
	var head map[string]json.RawMessage
	if err := json.Unmarshal(data, &head); err != nil {
		return data, nil // the strict decoder reports it with its offset
	}
	raw, ok := head[field]
	if !ok {
		head[field], _ = json.Marshal(id)
		return json.Marshal(head)
	}
	var got string
	if err := json.Unmarshal(raw, &got); err != nil || got != id {
		return nil, &apiError{Code: http.StatusUnprocessableEntity, Field: field,
			Msg: fmt.Sprintf("%s %s does not match %q in the path", field, raw, id)}
	}
	return data, nil
}

// etagOf returns a strong ETag of an object: a hash of its canonical JSON
// (or of a template's bytes).
func etagOf(v any) string {
	var b []byte
	if s, ok := v.(string); ok {
		b = []byte(s)
	} else {
		b, _ = json.Marshal(v)
	}
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// checkPreconditions applies If-Match and If-None-Match to the object as
// it is now (exists, with etag). If-Match "*" needs the object to exist;
// If-None-Match "*" needs it not to (create only).
func checkPreconditions(r *http.Request, exists bool, etag string) error {
	if im := r.Header.Get("If-Match"); im != "" {
		if !exists || !etagListMatches(im, etag) {
			return &apiError{Code: http.StatusPreconditionFailed, Msg: "If-Match " + im + " does not match the current version (" + currentVersion(exists, etag) + ")"}
		}
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && exists && etagListMatches(inm, etag) {
		return &apiError{Code: http.StatusPreconditionFailed, Msg: "If-None-Match " + inm + ": the object exists (" + etag + ")"}
	}
	return nil
}

func currentVersion(exists bool, etag string) string {
	if !exists {
		return "it does not exist"
	}
	return etag
}

// etagListMatches compares strongly: weak tags never match.
func etagListMatches(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

func (a *API) listObjects(k *objectKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		out := []any{}
		if snap := a.cfg.Catalogs.Current(); snap != nil {
			for _, id := range k.ids(snap.Catalog) {
				o, _ := k.get(snap.Catalog, id)
				out = append(out, o)
			}
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (a *API) getObject(k *objectKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, k.idField)
		if snap := a.cfg.Catalogs.Current(); snap != nil {
			if o, ok := k.get(snap.Catalog, id); ok {
				w.Header().Set("ETag", etagOf(o))
				writeJSON(w, http.StatusOK, o)
				return
			}
		}
		writeAPIError(w, r, &apiError{Code: http.StatusNotFound, Msg: fmt.Sprintf("%s/%s: not found", k.plural, id)})
	}
}

// putObject creates or replaces one object: 201 when created, 200 when
// replaced, with the stored (normalized) object and its ETag.
func (a *API) putObject(k *objectKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, k.idField)
		if err := checkName(k.idField, id); err != nil {
			writeAPIError(w, r, err)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeAPIError(w, r, err)
			return
		}
		obj, err := k.decode(body, id)
		if err != nil {
			writeAPIError(w, r, err)
			return
		}
		ref := k.plural + "/" + id
		created := false
		snap, ok := a.update(w, r, "put", ref, func(c *catalog.Catalog) error {
			cur, exists := k.get(c, id)
			if err := checkPreconditions(r, exists, etagOf(cur)); err != nil {
				return err
			}
			created = !exists
			k.put(c, id, obj)
			c.Sources.Delete(ref) // no longer the file it was loaded from
			return nil
		})
		if !ok {
			return
		}
		stored, _ := k.get(snap.Catalog, id)
		w.Header().Set("ETag", etagOf(stored))
		code := http.StatusOK
		if created {
			code = http.StatusCreated
			w.Header().Set("Location", r.URL.Path)
		}
		writeJSON(w, code, stored)
	}
}

// deleteObject deletes one object: 204, or 404 when it does not exist, or
// 409 when the catalog would no longer validate without it (a profile a
// group still uses, a pool a group or pin names).
func (a *API) deleteObject(k *objectKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, k.idField)
		ref := k.plural + "/" + id
		_, ok := a.update(w, r, "delete", ref, func(c *catalog.Catalog) error {
			cur, exists := k.get(c, id)
			if !exists {
				return &apiError{Code: http.StatusNotFound, Msg: ref + ": not found"}
			}
			if err := checkPreconditions(r, true, etagOf(cur)); err != nil {
				return err
			}
			k.del(c, id)
			c.Sources.Delete(ref)
			return nil
		})
		if ok {
			w.WriteHeader(http.StatusNoContent)
		}
	}
}
