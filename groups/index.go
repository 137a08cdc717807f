package groups

import (
	"fmt"
	"github.com/provisiond/provisiond/internal/invalid"
	"math"
	"slices"
	"strings"
)

// Index is an immutable, precomputed view of a set of groups that answers
// "which group does this request get" without scanning every group.
//
// Every group with a selector is filed under one of its own key/value pairs,
// the rarest one across the whole set (mac and uuid pairs are nearly always
// unique), so a lookup inspects, for each selector key the request has a
// label for, only the bucket filed under that label, plus the default
// groups. Each bucket is kept in precedence order, so the first match in a
// bucket is that bucket's best; the best of the bucket winners is the
// answer. With one group per machine the cost is a handful of map lookups
// whether there are 10 or 100,000 groups.
//
// The index is flat: groups in one slice in precedence order, buckets as
// runs of positions in another, and the bucket maps hold no pointers but
// their keys (the groups' own selector strings). At 100,000 groups that
// is a few allocations instead of three per group, and little for the
// garbage collector to mark on every cycle.
type Index struct {
	// keys are the selector keys some bucket is filed under, sorted.
	keys []string
	// buckets maps a key, then a value, to its run in filed; except the
	// buckets filed under a mac of six bytes, which macs holds.
	buckets map[string]map[string]span
	// macs maps a mac's 48 bits to its bucket's run in filed. One group
	// per machine is the common catalog, each filed under its mac: keyed
	// by a number, the map holds no pointers for the garbage collector to
	// follow on every cycle (100,000 strings in buckets) and a lookup
	// hashes 8 bytes, not a 17-byte string.
	macs map[uint64]span
	// filed holds positions in all, bucket by bucket, each bucket in
	// precedence order.
	filed    []int32
	defaults []int32  // groups with no selector, in precedence order
	all      []*Group // every group, in precedence order
	// byID holds positions in all, sorted by group id (Group).
	byID []int32
}

// span is a bucket: filed[start : start+n].
type span struct{ start, n int32 }

// DuplicateSelectorError reports two groups whose selectors are identical,
// which would make the choice between them arbitrary.
type DuplicateSelectorError struct {
	A, B     string // group ids
	Selector string
}

func (e *DuplicateSelectorError) Error() string {
	return fmt.Sprintf("groups %q and %q have the identical selector {%s}: the choice between them would be arbitrary", e.A, e.B, e.Selector)
}

type pair struct{ k, v string }

// NewIndex builds an index over gs. Groups must already be normalized (see
// Decode and Normalize). It returns a *DuplicateSelectorError when two groups
// share a selector and an error for a duplicate id; when gs has both, the
// one met first in gs's order.
//
// At a million groups every map and sort here is seconds of a start-up,
// so the work is done with as few of them as the answer allows: duplicate
// ids and selectors are found by the sorts the index needs anyway (equal
// ones sort next to each other), a group with one selector pair is filed
// under it without counting how often pairs occur (only the pairs of
// groups with several are counted), and bucket sizes are counted in the
// bucket maps themselves, sized once.
func NewIndex(gs []*Group) (*Index, error) {
	if len(gs) > math.MaxInt32 {
		return nil, fmt.Errorf("%w: %d groups, at most %d", ErrInvalid, len(gs), math.MaxInt32)
	}
	// Each group with its selector string and its position in gs, for
	// the precedence sort; the strings are not kept.
	type built struct {
		g   *Group
		sel string
		at  int32
	}
	entries := make([]built, len(gs))
	macs := 0
	for i, g := range gs {
		entries[i] = built{g: g, sel: g.SelectorString(), at: int32(i)}
		if _, ok := g.Selector.Get("mac"); ok {
			macs++
		}
	}
	// before is matchbox's precedence: more selectors first, then the
	// greater sorted selector string; equal selectors (a duplicate, an
	// error below) in gs's order.
	slices.SortFunc(entries, func(a, b built) int {
		if len(a.g.Selector) != len(b.g.Selector) {
			return len(b.g.Selector) - len(a.g.Selector)
		}
		if c := strings.Compare(b.sel, a.sel); c != 0 {
			return c
		}
		return int(a.at - b.at)
	})
	// The first error in gs's order: a duplicate id at the position of
	// its second group, a duplicate selector likewise (keyed by count and
	// string: selectors whose keys or values hold ',' or '=' can print
	// alike, but with different counts they never tie).
	errAt := int32(len(gs))
	var errDup *DuplicateSelectorError
	for i := 1; i < len(entries); i++ {
		a, b := entries[i-1], entries[i]
		if len(a.g.Selector) != len(b.g.Selector) || a.sel != b.sel {
			continue
		}
		// b is not the first of its selector; the first one is the
		// run's start (the run is in gs's order).
		if b.at < errAt {
			j := i - 1
			for j > 0 && len(entries[j-1].g.Selector) == len(b.g.Selector) && entries[j-1].sel == b.sel {
				j--
			}
			x, y := entries[j].g.ID, b.g.ID
			if x > y {
				x, y = y, x
			}
			errAt, errDup = b.at, &DuplicateSelectorError{A: x, B: y, Selector: b.sel}
		}
	}
	idsSorted := increasingIDs(gs)
	if at := firstDuplicateID(gs, idsSorted); at >= 0 && int32(at) <= errAt {
		id := gs[at].ID
		return nil, invalid.Conflict("groups/"+id, "groups/"+id, fmt.Errorf("%w: duplicate group id %q", ErrInvalid, id))
	}
	if errDup != nil {
		return nil, errDup
	}
	ix := &Index{buckets: map[string]map[string]span{}, macs: make(map[uint64]span, macs)}
	ix.all = make([]*Group, len(entries))
	ix.byID = make([]int32, len(entries))
	for i, e := range entries {
		ix.all[i] = e.g
		if idsSorted {
			ix.byID[e.at] = int32(i) // gs is in id order: no sort
		} else {
			ix.byID[i] = int32(i)
		}
	}
	entries = nil
	if !idsSorted {
		slices.SortFunc(ix.byID, func(a, b int32) int { return strings.Compare(ix.all[a].ID, ix.all[b].ID) })
	}

	// How many groups hold each pair, for the pairs that need it: those of
	// groups with several pairs, whose bucket is their rarest pair.
	var freq map[pair]int
	for _, g := range ix.all {
		if len(g.Selector) > 1 {
			if freq == nil {
				freq = map[pair]int{}
			}
			for k, v := range g.Selector.All() {
				freq[pair{k, v}] = 0
			}
		}
	}
	if freq != nil {
		for _, g := range ix.all {
			for k, v := range g.Selector.All() {
				p := pair{k, v}
				if n, ok := freq[p]; ok {
					freq[p] = n + 1
				}
			}
		}
	}
	// Each group's bucket, counted in the bucket's span (n; start -1:
	// not laid out yet), then the buckets laid out in filed in the order
	// of their first (best) group, each in precedence order: one walk
	// does both, laying a bucket out when it meets its first group.
	bucketOf := make([]pair, len(ix.all))
	filed := 0
	for i, g := range ix.all {
		if len(g.Selector) == 0 {
			ix.defaults = append(ix.defaults, int32(i))
			continue
		}
		var best pair
		if len(g.Selector) == 1 {
			for k, v := range g.Selector.All() {
				best = pair{k, v}
			}
		} else {
			bestN := -1
			for k, v := range g.Selector.All() {
				p := pair{k, v}
				n := freq[p]
				if bestN < 0 || n < bestN || n == bestN && (p.k < best.k || p.k == best.k && p.v < best.v) {
					best, bestN = p, n
				}
			}
		}
		bucketOf[i] = best
		if _, ok := ix.buckets[best.k]; !ok {
			ix.buckets[best.k] = map[string]span{}
			ix.keys = append(ix.keys, best.k)
		}
		sp, ok := ix.span(best.k, best.v)
		if !ok {
			sp.start = -1
		}
		sp.n++
		ix.setSpan(best, sp)
		filed++
	}
	freq = nil
	slices.Sort(ix.keys)
	ix.filed = make([]int32, filed)
	var next int32 // where the next bucket laid out starts
	for i, g := range ix.all {
		if len(g.Selector) == 0 {
			continue
		}
		p := bucketOf[i]
		sp, _ := ix.span(p.k, p.v)
		if sp.start < 0 { // its first group: lay it out, n groups long
			next, sp = next+sp.n, span{start: next}
		}
		ix.filed[sp.start+sp.n] = int32(i) // filed in precedence order
		sp.n++
		ix.setSpan(p, sp)
	}
	for k, vs := range ix.buckets {
		if len(vs) == 0 {
			ix.buckets[k] = nil // every bucket of k is in macs
		}
	}
	return ix, nil
}

// increasingIDs says whether gs's ids are strictly increasing, as a
// catalog's are (it passes its groups sorted by id).
func increasingIDs(gs []*Group) bool {
	for i := 1; i < len(gs); i++ {
		if gs[i-1].ID >= gs[i].ID {
			return false
		}
	}
	return true
}

// firstDuplicateID returns the position in gs of the first group whose id
// an earlier group has, or -1. Ids in increasing order (sorted) have
// none.
func firstDuplicateID(gs []*Group, sorted bool) int {
	if sorted {
		return -1
	}
	ids := make(map[string]bool, len(gs))
	for i, g := range gs {
		if ids[g.ID] {
			return i
		}
		ids[g.ID] = true
	}
	return -1
}

// span returns the bucket filed under k=v.
func (ix *Index) span(k, v string) (span, bool) {
	if k == "mac" {
		if m, ok := macBits(v); ok {
			sp, ok := ix.macs[m]
			return sp, ok
		}
	}
	sp, ok := ix.buckets[k][v]
	return sp, ok
}

// setSpan files the bucket of p; p.k has its map in buckets.
func (ix *Index) setSpan(p pair, sp span) {
	if p.k == "mac" {
		if m, ok := macBits(p.v); ok {
			ix.macs[m] = sp
			return
		}
	}
	ix.buckets[p.k][p.v] = sp
}

// macBits returns the 48 bits of a six-byte mac in kept form (lowercase
// colon form, as selectors and labels hold it), and false for any other
// string: such a value is filed, and looked up, in buckets, so a mac
// label in another form finds nothing, as before.
func macBits(s string) (uint64, bool) {
	if len(s) != 17 {
		return 0, false
	}
	var m uint64
	for i := 0; i < 17; i += 3 {
		if i > 0 && s[i-1] != ':' {
			return 0, false
		}
		hi, ok1 := lowerHex(s[i])
		lo, ok2 := lowerHex(s[i+1])
		if !ok1 || !ok2 {
			return 0, false
		}
		m = m<<8 | uint64(hi<<4|lo)
	}
	return m, true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// Select returns the group with the highest precedence whose selector
// matches l, or nil when none does.
func (ix *Index) Select(l Labels) *Group {
	win := int32(-1)
	consider := func(bucket []int32) {
		for _, pos := range bucket {
			if win >= 0 && pos > win {
				return // the rest of this bucket ranks lower still
			}
			if matches(ix.all[pos].Selector, l) {
				win = pos
				return
			}
		}
	}
	bucket := func(k, v string) {
		if sp, ok := ix.span(k, v); ok {
			consider(ix.filed[sp.start : sp.start+sp.n])
		}
	}
	// Whichever is fewer: the keys groups are filed under, or the labels.
	if len(ix.keys) <= len(l) {
		for _, k := range ix.keys {
			if v, ok := l[k]; ok {
				bucket(k, v)
			}
		}
	} else {
		for k, v := range l {
			bucket(k, v)
		}
	}
	consider(ix.defaults)
	if win < 0 {
		return nil
	}
	return ix.all[win]
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
	for _, g := range ix.all {
		c := Candidate{Group: g, Matches: true}
		for _, p := range g.Selector.inOrder() {
			if lv, ok := l[p.Key]; !ok || lv != p.Value {
				c.Matches = false
				c.Missing = append(c.Missing, p.Key+"="+p.Value)
			}
		}
		out = append(out, c)
	}
	return out
}

// Group returns the group with the given id, or nil.
func (ix *Index) Group(id string) *Group {
	i, ok := slices.BinarySearchFunc(ix.byID, id, func(p int32, id string) int { return strings.Compare(ix.all[p].ID, id) })
	if !ok {
		return nil
	}
	return ix.all[ix.byID[i]]
}

// Groups returns every group in precedence order. The slice is fresh; the
// groups are shared and must not be modified.
func (ix *Index) Groups() []*Group {
	out := make([]*Group, len(ix.all))
	copy(out, ix.all)
	return out
}

// Len returns the number of groups.
func (ix *Index) Len() int { return len(ix.all) }
