package catalog

import (
	"maps"
	"slices"

	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
)

// Catalog is the full set of objects provisiond serves from, as loaded from
// a directory or the store. It is plain data; Validate checks it and
// Compile turns it into a Snapshot.
type Catalog struct {
	Profiles  map[string]*profiles.Profile
	Groups    map[string]*groups.Group
	Templates map[profiles.Kind]map[string]string
	Pools     map[string]*ipam.Pool
	Machines  map[string]*Machine

	// Sources records where each object came from (a file path), for
	// error messages and write-back.
	Sources Sources

	// Notes are warnings found while loading (see LoadDir), reported with
	// Validate's.
	Notes []string
}

// New returns an empty catalog.
func New() *Catalog {
	c := &Catalog{
		Profiles:  map[string]*profiles.Profile{},
		Groups:    map[string]*groups.Group{},
		Templates: map[profiles.Kind]map[string]string{},
		Pools:     map[string]*ipam.Pool{},
		Machines:  map[string]*Machine{},
	}
	for _, k := range profiles.Kinds {
		c.Templates[k] = map[string]string{}
	}
	return c
}

// source names where the object ref came from.
func (c *Catalog) source(ref string) string {
	if s, ok := c.Sources.Get(ref); ok {
		return s
	}
	return ref
}

// Template returns a template's text and whether it exists.
func (c *Catalog) Template(kind profiles.Kind, name string) (string, bool) {
	t, ok := c.Templates[kind][name]
	return t, ok
}

// Clone returns a copy whose maps can be changed without touching c. The
// objects themselves are shared: replace, never modify, an object of a
// catalog that a Snapshot was compiled from.
func (c *Catalog) Clone() *Catalog {
	n := New()
	for k, v := range c.Profiles {
		n.Profiles[k] = v
	}
	for k, v := range c.Groups {
		n.Groups[k] = v
	}
	for kind, ts := range c.Templates {
		for k, v := range ts {
			n.Templates[kind][k] = v
		}
	}
	for k, v := range c.Pools {
		n.Pools[k] = v
	}
	for k, v := range c.Machines {
		n.Machines[k] = v
	}
	n.Sources = c.Sources.clone()
	return n
}

// sortedKeys is slices.Sorted(maps.Keys(m)), the one idiom for sorted
// keys; write that. It remains for trial.go, until that file is next
// changed.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
