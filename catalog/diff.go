package catalog

import (
	"encoding/json"
	"sort"

	"github.com/provisiond/provisiond/profiles"
)

// Changes lists the objects, by reference ("groups/web",
// "ignition/worker.yaml"), that differ between two catalogs.
type Changes struct {
	Created []string `json:"created"`
	Updated []string `json:"updated"`
	Deleted []string `json:"deleted"`
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool {
	return len(c.Created)+len(c.Updated)+len(c.Deleted) == 0
}

// Diff compares two catalogs object by object: an object is updated when
// its canonical JSON (or template text) differs. A nil catalog is empty.
// Every list is sorted.
func Diff(old, next *Catalog) Changes {
	if old == nil {
		old = New()
	}
	if next == nil {
		next = New()
	}
	ch := Changes{Created: []string{}, Updated: []string{}, Deleted: []string{}}
	a, b := old.objects(), next.objects()
	for ref, av := range a {
		bv, ok := b[ref]
		switch {
		case !ok:
			ch.Deleted = append(ch.Deleted, ref)
		case av != bv:
			ch.Updated = append(ch.Updated, ref)
		}
	}
	for ref := range b {
		if _, ok := a[ref]; !ok {
			ch.Created = append(ch.Created, ref)
		}
	}
	sort.Strings(ch.Created)
	sort.Strings(ch.Updated)
	sort.Strings(ch.Deleted)
	return ch
}

// objects returns every object's reference and canonical form.
func (c *Catalog) objects() map[string]string {
	out := map[string]string{}
	canon := func(v any) string {
		b, _ := json.Marshal(v) // plain structs and maps: cannot fail
		return string(b)
	}
	for id, p := range c.Profiles {
		out["profiles/"+id] = canon(p)
	}
	for id, g := range c.Groups {
		out["groups/"+id] = canon(g)
	}
	for name, p := range c.Pools {
		out["pools/"+name] = canon(p)
	}
	for name, m := range c.Machines {
		out["machines/"+name] = canon(m)
	}
	for _, kind := range profiles.Kinds {
		for name, text := range c.Templates[kind] {
			out[string(kind)+"/"+name] = text
		}
	}
	return out
}
