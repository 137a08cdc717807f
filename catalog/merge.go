package catalog

import (
	"slices"
	"strings"

	"github.com/provisiond/provisiond/profiles"
)

// Merge3 merges into dir the changes stored has over base, object by
// object, as git merges a branch: base is what dir and stored both held
// once (a catalog directory and the shared store when the directory was
// last written), dir has the directory's own edits since, stored the
// changes other replicas took since. An object that only stored changed
// is taken from stored (taken lists them, sorted); one that only dir
// changed, or that both changed alike, stays as dir has it; one that both
// changed differently is a conflict (conflicts lists them): merged then
// holds dir's, and the caller refuses. merged shares objects with dir and
// stored (Clone's rules); dir is not changed.
func Merge3(base, stored, dir *Catalog) (merged *Catalog, taken, conflicts []string) {
	theirs := Diff(base, stored)
	mine := refSet(Diff(base, dir))
	differ := refSet(Diff(dir, stored))
	merged = dir.Clone()
	merged.Notes = dir.Notes
	for _, list := range [][]string{theirs.Created, theirs.Updated, theirs.Deleted} {
		for _, ref := range list {
			switch {
			case !differ[ref]: // dir has it as stored does
			case mine[ref]:
				conflicts = append(conflicts, ref)
			default:
				merged.take(ref, stored)
				taken = append(taken, ref)
			}
		}
	}
	slices.Sort(taken)
	slices.Sort(conflicts)
	return merged, taken, conflicts
}

func refSet(ch Changes) map[string]bool {
	m := make(map[string]bool, len(ch.Created)+len(ch.Updated)+len(ch.Deleted))
	for _, list := range [][]string{ch.Created, ch.Updated, ch.Deleted} {
		for _, ref := range list {
			m[ref] = true
		}
	}
	return m
}

// take makes c's object ref what from has: from's object, or none when
// from has none.
func (c *Catalog) take(ref string, from *Catalog) {
	sub, name, _ := strings.Cut(ref, "/")
	switch sub {
	case "profiles":
		setOrDelete(c.Profiles, name, from.Profiles)
	case "groups":
		setOrDelete(c.Groups, name, from.Groups)
	case "pools":
		setOrDelete(c.Pools, name, from.Pools)
	case "machines":
		setOrDelete(c.Machines, name, from.Machines)
	default:
		kind := profiles.Kind(sub)
		if c.Templates[kind] == nil {
			c.Templates[kind] = map[string]string{}
		}
		setOrDelete(c.Templates[kind], name, from.Templates[kind])
	}
}

func setOrDelete[V any](m map[string]V, key string, from map[string]V) {
	if v, ok := from[key]; ok {
		m[key] = v
		return
	}
	delete(m, key)
}
