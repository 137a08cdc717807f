package groups

import (
	"fmt"
	"github.com/provisiond/provisiond/internal/invalid"
	"maps"
	"slices"
	"sort"
)

// Index is an immutable, precomputed view of a set of groups that answers
// "which group does this request get" without scanning every group.
//
// Every group with a selector is filed under one of its own key/value pairs,
// the rarest one across the whole set (mac and uuid pairs are nearly always
// unique), so a lookup inspects, for each label of the request, only the
// bucket filed under that label, plus the default groups. Each bucket is
// kept in precedence order, so the first match in a bucket is that bucket's
// best; the best of the bucket winners is the answer. With one group per
// machine the cost is a handful of map lookups whether there are 10 or
// 100,000 groups.
type Index struct {
	buckets  map[pair][]*entry
	defaults []*entry // groups with no selector, in precedence order
	all      []*entry // every group, in precedence order
	byID     map[string]*Group
}

type pair struct{ k, v string }

type entry struct {
	g   *Group
	sel string // SelectorString, cached for the tie-break
	pos int    // position in precedence order; lower wins
}

// DuplicateSelectorError reports two groups whose selectors are identical,
// which would make the choice between them arbitrary.
type DuplicateSelectorError struct {
	A, B     string // group ids
	Selector string
}

func (e *DuplicateSelectorError) Error() string {
	return fmt.Sprintf("groups %q and %q have the identical selector {%s}: the choice between them would be arbitrary", e.A, e.B, e.Selector)
}

// NewIndex builds an index over gs. Groups must already be normalized (see
// Decode and Normalize). It returns a *DuplicateSelectorError when two groups
// share a selector and an error for a duplicate id.
func NewIndex(gs []*Group) (*Index, error) {
	ix := &Index{buckets: map[pair][]*entry{}, byID: make(map[string]*Group, len(gs))}
	entries := make([]*entry, 0, len(gs))
	// Keyed by count and string: selectors whose keys or values hold ',' or
	// '=' can print alike, but with different counts they never tie.
	type selKey struct {
		n   int
		sel string
	}
	seen := make(map[selKey]string, len(gs))
	for _, g := range gs {
		if _, dup := ix.byID[g.ID]; dup {
			return nil, invalid.Conflict("groups/"+g.ID, "groups/"+g.ID, fmt.Errorf("%w: duplicate group id %q", ErrInvalid, g.ID))
		}
		ix.byID[g.ID] = g
		e := &entry{g: g, sel: g.SelectorString()}
		sk := selKey{len(g.Selector), e.sel}
		if other, dup := seen[sk]; dup {
			a, b := other, g.ID
			if a > b {
				a, b = b, a
			}
			return nil, &DuplicateSelectorError{A: a, B: b, Selector: e.sel}
		}
		seen[sk] = g.ID
		entries = append(entries, e)
	}
	sort.Slice(entries, func(i, j int) bool { return before(entries[i], entries[j]) })
	ix.all = entries

	freq := map[pair]int{}
	for _, e := range entries {
		for k, v := range e.g.Selector {
			freq[pair{k, v}]++
		}
	}
	for i, e := range entries {
		e.pos = i
		if len(e.g.Selector) == 0 {
			ix.defaults = append(ix.defaults, e)
			continue
		}
		var best pair
		bestN := -1
		for k, v := range e.g.Selector {
			p := pair{k, v}
			n := freq[p]
			if bestN < 0 || n < bestN || n == bestN && (p.k < best.k || p.k == best.k && p.v < best.v) {
				best, bestN = p, n
			}
		}
		ix.buckets[best] = append(ix.buckets[best], e) // appended in precedence order
	}
	return ix, nil
}

// before is matchbox's precedence: more selectors first, then the greater
// sorted selector string.
func before(a, b *entry) bool {
	if len(a.g.Selector) != len(b.g.Selector) {
		return len(a.g.Selector) > len(b.g.Selector)
	}
	return a.sel > b.sel
}

// Select returns the group with the highest precedence whose selector
// matches l, or nil when none does.
func (ix *Index) Select(l Labels) *Group {
	var win *entry
	consider := func(bucket []*entry) {
		for _, e := range bucket {
			if win != nil && e.pos > win.pos {
				return // the rest of this bucket ranks lower still
			}
			if matches(e.g.Selector, l) {
				win = e
				return
			}
		}
	}
	for k, v := range l {
		if b, ok := ix.buckets[pair{k, v}]; ok {
			consider(b)
		}
	}
	consider(ix.defaults)
	if win == nil {
		return nil
	}
	return win.g
}

// Candidate is one group's verdict for a request, as explained by Explain.
type Candidate struct {
	Group   *Group
	Matches bool
	// Missing lists the selector pairs the request did not satisfy.
	Missing []string
}

// Explain lists every group in precedence order with whether it matched and
// why not. It scans every group and is meant for the admin API, never for
// the boot path.
func (ix *Index) Explain(l Labels) []Candidate {
	out := make([]Candidate, 0, len(ix.all))
	for _, e := range ix.all {
		c := Candidate{Group: e.g, Matches: true}
		for _, k := range slices.Sorted(maps.Keys(e.g.Selector)) {
			if lv, ok := l[k]; !ok || lv != e.g.Selector[k] {
				c.Matches = false
				c.Missing = append(c.Missing, k+"="+e.g.Selector[k])
			}
		}
		out = append(out, c)
	}
	return out
}

// Group returns the group with the given id, or nil.
func (ix *Index) Group(id string) *Group { return ix.byID[id] }

// Groups returns every group in precedence order. The slice is fresh; the
// groups are shared and must not be modified.
func (ix *Index) Groups() []*Group {
	out := make([]*Group, len(ix.all))
	for i, e := range ix.all {
		out[i] = e.g
	}
	return out
}

// Len returns the number of groups.
func (ix *Index) Len() int { return len(ix.all) }
