package groups

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
)

// bruteSelectorString is matchbox's tie-break key, written out again so the
// reference does not share code with the index: every "k=v" pair, sorted as
// a whole string, joined by commas.
func bruteSelectorString(sel map[string]string) string {
	var pairs []string
	for k, v := range sel {
		pairs = append(pairs, k+"="+v)
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ",")
}

// bruteOrder returns gs sorted by matchbox's rule: most selectors first,
// then the greatest selector string.
func bruteOrder(gs []*Group) []*Group {
	out := slices.Clone(gs)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if len(a.Selector) != len(b.Selector) {
			return len(a.Selector) > len(b.Selector)
		}
		return bruteSelectorString(a.Selector.Map()) > bruteSelectorString(b.Selector.Map())
	})
	return out
}

// bruteSelect scans every group in matchbox's order and returns the first
// whose every selector pair equals the label of the same key.
func bruteSelect(gs []*Group, l Labels) *Group {
	return firstMatch(bruteOrder(gs), l)
}

// firstMatch returns the first group of ordered that matches l.
func firstMatch(ordered []*Group, l Labels) *Group {
	for _, g := range ordered {
		ok := true
		for k, v := range g.Selector.Map() {
			if lv, has := l[k]; !has || lv != v {
				ok = false
				break
			}
		}
		if ok {
			return g
		}
	}
	return nil
}

func grp(id string, kv ...string) *Group {
	sel := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		sel[kv[i]] = kv[i+1]
	}
	return &Group{ID: id, Profile: "p-" + id, Selector: SelectorOf(sel)}
}

func idOf(g *Group) string {
	if g == nil {
		return "<nil>"
	}
	return g.ID
}

const (
	mac1 = "52:54:00:00:00:01"
	mac2 = "52:54:00:00:00:02"
)

func TestSelectPrecedence(t *testing.T) {
	catalog := []*Group{
		grp("default"),
		grp("workers", "role", "worker"),
		grp("workers-one", "role", "worker", "cabinet", "one"),
		grp("node1", "mac", mac1, "role", "worker"),
		grp("node2", "mac", mac2),
		grp("cab-two", "cabinet", "two"),
		grp("role-a", "role", "a"),
		grp("zone-b", "zone", "b"),
		grp("three", "role", "worker", "cabinet", "one", "zone", "a"),
	}
	noDefault := slices.DeleteFunc(slices.Clone(catalog), func(g *Group) bool { return g.ID == "default" })

	tests := []struct {
		name   string
		groups []*Group
		labels Labels
		want   string
	}{
		{"mac-specific beats role", catalog, Labels{"mac": mac1, "role": "worker"}, "node1"},
		{"role+cabinet beats role", catalog, Labels{"role": "worker", "cabinet": "one"}, "workers-one"},
		{"role alone", catalog, Labels{"role": "worker", "cabinet": "nine"}, "workers"},
		{"tie: zone=b > role=a", catalog, Labels{"role": "a", "zone": "b"}, "zone-b"},
		// matchbox's rule, kept on purpose: {mac} and {role} both have one
		// selector and "role=worker" > "mac=52:...", so the role group wins.
		{"tie: role=worker > mac=...", catalog, Labels{"mac": mac2, "role": "worker"}, "workers"},
		{"tie: mac=... > cabinet=two", catalog, Labels{"mac": mac2, "cabinet": "two"}, "node2"},
		{"three selectors beat two", catalog, Labels{"role": "worker", "cabinet": "one", "zone": "a"}, "three"},
		{"mac alone", catalog, Labels{"mac": mac2}, "node2"},
		{"default for unknown labels", catalog, Labels{"mac": "52:54:00:00:00:99", "role": "gpu"}, "default"},
		{"default for no labels", catalog, Labels{}, "default"},
		{"default for nil labels", catalog, nil, "default"},
		{"values are case-sensitive", catalog, Labels{"role": "Worker"}, "default"},
		{"extra labels still match", catalog, Labels{"role": "worker", "cabinet": "one", "arch": "x86_64", "uuid": "x", "mac": "52:54:00:00:00:99"}, "workers-one"},
		{"no match without a default", noDefault, Labels{"role": "gpu"}, "<nil>"},
		{"no match on empty labels", noDefault, Labels{}, "<nil>"},
		{"only a default", []*Group{grp("default")}, Labels{"mac": mac1}, "default"},
		{"empty index", nil, Labels{"mac": mac1}, "<nil>"},
		{"partial match is no match", noDefault, Labels{"mac": mac1}, "<nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix, err := NewIndex(tt.groups)
			if err != nil {
				t.Fatal(err)
			}
			got := ix.Select(tt.labels)
			if idOf(got) != tt.want {
				t.Errorf("Select(%v) = %s, want %s", tt.labels, idOf(got), tt.want)
			}
			if ref := bruteSelect(tt.groups, tt.labels); idOf(ref) != tt.want {
				t.Errorf("brute force picks %s, the table says %s: the table is wrong", idOf(ref), tt.want)
			}
		})
	}
}

// randomGroups returns up to n groups with distinct selectors over a small
// alphabet, so that many groups overlap and tie.
func randomGroups(r *rand.Rand, n int) []*Group {
	keys := []string{"mac", "role", "cabinet", "zone", "a"}
	vals := []string{"0", "1", "2"}
	seen := map[string]bool{}
	var gs []*Group
	for i := range n {
		sel := map[string]string{}
		for _, k := range keys {
			if r.IntN(3) == 0 {
				sel[k] = vals[r.IntN(len(vals))]
			}
		}
		s := bruteSelectorString(sel)
		if seen[s] {
			continue
		}
		seen[s] = true
		gs = append(gs, &Group{ID: fmt.Sprintf("g%d", i), Profile: "p", Selector: SelectorOf(sel)})
	}
	r.Shuffle(len(gs), func(i, j int) { gs[i], gs[j] = gs[j], gs[i] })
	return gs
}

func randomLabels(r *rand.Rand) Labels {
	keys := []string{"mac", "role", "cabinet", "zone", "a", "extra"}
	vals := []string{"0", "1", "2", "3"}
	l := Labels{}
	for _, k := range keys {
		if r.IntN(4) != 0 {
			l[k] = vals[r.IntN(len(vals))]
		}
	}
	return l
}

func TestSelectMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 1))
	iterations := 3000
	if testing.Short() {
		iterations = 300
	}
	for it := range iterations {
		gs := randomGroups(r, 1+r.IntN(40))
		ix, err := NewIndex(gs)
		if err != nil {
			t.Fatalf("iteration %d: NewIndex: %v", it, err)
		}
		order := bruteOrder(gs)
		if got := ix.Groups(); !slices.Equal(got, order) {
			t.Fatalf("iteration %d: Groups() order differs from matchbox's", it)
		}
		for range 30 {
			l := randomLabels(r)
			got, want := ix.Select(l), firstMatch(order, l)
			if got != want {
				t.Fatalf("iteration %d: Select(%v) = %s %v, brute force = %s %v\ngroups: %s",
					it, l, idOf(got), selOf(got), idOf(want), selOf(want), describe(gs))
			}
		}
	}
}

func selOf(g *Group) string {
	if g == nil {
		return ""
	}
	return "{" + bruteSelectorString(g.Selector.Map()) + "}"
}

func describe(gs []*Group) string {
	var b strings.Builder
	for _, g := range gs {
		fmt.Fprintf(&b, "%s%s ", g.ID, selOf(g))
	}
	return b.String()
}

func TestNewIndexDuplicateSelector(t *testing.T) {
	tests := []struct {
		name   string
		groups []*Group
		want   DuplicateSelectorError
	}{
		{"same selector", []*Group{grp("x", "role", "a", "zone", "b"), grp("other"), grp("b", "zone", "b", "role", "a")},
			DuplicateSelectorError{A: "b", B: "x", Selector: "role=a,zone=b"}},
		{"two defaults", []*Group{grp("default-2"), grp("default-1")},
			DuplicateSelectorError{A: "default-1", B: "default-2", Selector: ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix, err := NewIndex(tt.groups)
			var dup *DuplicateSelectorError
			if !errors.As(err, &dup) {
				t.Fatalf("NewIndex = %v, %v; want a *DuplicateSelectorError", ix, err)
			}
			if *dup != tt.want {
				t.Errorf("error = %+v, want %+v", *dup, tt.want)
			}
			for _, s := range []string{tt.want.A, tt.want.B, "{" + tt.want.Selector + "}"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q does not name %q", err, s)
				}
			}
		})
	}
}

// Selectors whose keys or values contain ',' or '=' can print the same
// string without being the same selector. Different counts are never tied,
// so they are not duplicates.
func TestNewIndexSameStringDifferentSelectors(t *testing.T) {
	one := grp("one", "a", "b,c=d")
	two := grp("two", "a", "b", "c", "d")
	ix, err := NewIndex([]*Group{one, two})
	if err != nil {
		t.Fatalf("NewIndex: %v", err)
	}
	if got := ix.Select(Labels{"a": "b", "c": "d"}); got != two {
		t.Errorf("Select = %s, want two", idOf(got))
	}
	if got := ix.Select(Labels{"a": "b,c=d"}); got != one {
		t.Errorf("Select = %s, want one", idOf(got))
	}
}

func TestNewIndexDuplicateID(t *testing.T) {
	_, err := NewIndex([]*Group{grp("a", "role", "x"), grp("a", "role", "y")})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"a"`) {
		t.Fatalf("err = %v, want ErrInvalid naming \"a\"", err)
	}
	var dup *DuplicateSelectorError
	if errors.As(err, &dup) {
		t.Errorf("duplicate id reported as a duplicate selector: %v", err)
	}
	// Duplicate id and duplicate selector at once: the id is reported.
	_, err = NewIndex([]*Group{grp("a", "role", "x"), grp("a", "role", "x")})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
}

func TestIndexAccessors(t *testing.T) {
	gs := []*Group{grp("default"), grp("workers", "role", "worker"), grp("node1", "mac", mac1, "role", "worker")}
	ix, err := NewIndex(gs)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 3 {
		t.Errorf("Len = %d, want 3", ix.Len())
	}
	for _, g := range gs {
		if ix.Group(g.ID) != g {
			t.Errorf("Group(%q) = %v", g.ID, ix.Group(g.ID))
		}
	}
	if ix.Group("nope") != nil {
		t.Errorf("Group(nope) is not nil")
	}
	got := ix.Groups()
	want := []*Group{gs[2], gs[1], gs[0]}
	if !slices.Equal(got, want) {
		t.Errorf("Groups = %s, want node1 workers default", describe(got))
	}
	got[0] = nil // the slice is fresh
	if ix.Groups()[0] != gs[2] {
		t.Errorf("Groups shares its slice with the index")
	}
}

func TestExplain(t *testing.T) {
	gs := []*Group{
		grp("default"),
		grp("workers", "role", "worker"),
		grp("node1", "mac", mac1),
		grp("workers-one", "role", "worker", "cabinet", "one"),
		grp("three", "zone", "z", "role", "services", "cabinet", "two"),
	}
	ix, err := NewIndex(gs)
	if err != nil {
		t.Fatal(err)
	}
	l := Labels{"role": "worker", "cabinet": "two", "extra": "x"}
	type verdict struct {
		id      string
		matches bool
		missing []string
	}
	want := []verdict{
		{"three", false, []string{"role=services", "zone=z"}},
		{"workers-one", false, []string{"cabinet=one"}},
		{"workers", true, nil},
		{"node1", false, []string{"mac=" + mac1}},
		{"default", true, nil},
	}
	got := ix.Explain(l)
	if len(got) != len(want) {
		t.Fatalf("Explain returned %d candidates, want %d", len(got), len(want))
	}
	for i, w := range want {
		c := got[i]
		if c.Group.ID != w.id || c.Matches != w.matches || !slices.Equal(c.Missing, w.missing) {
			t.Errorf("candidate %d = {%s %v %q}, want {%s %v %q}", i, c.Group.ID, c.Matches, c.Missing, w.id, w.matches, w.missing)
		}
		if c.Matches != c.Group.Matches(l) {
			t.Errorf("candidate %s: Matches = %v, Group.Matches = %v", c.Group.ID, c.Matches, c.Group.Matches(l))
		}
	}
	// The first matching candidate is what Select picks.
	if sel := ix.Select(l); sel == nil || sel.ID != "workers" {
		t.Errorf("Select = %s, want workers", idOf(sel))
	}
}

func TestExplainAgreesWithSelect(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for range 300 {
		gs := randomGroups(r, 1+r.IntN(20))
		ix, err := NewIndex(gs)
		if err != nil {
			t.Fatal(err)
		}
		l := randomLabels(r)
		var first *Group
		for _, c := range ix.Explain(l) {
			if c.Matches != (len(c.Missing) == 0) {
				t.Fatalf("%s: Matches = %v but Missing = %q", c.Group.ID, c.Matches, c.Missing)
			}
			if c.Matches && first == nil {
				first = c.Group
			}
		}
		if got := ix.Select(l); got != first {
			t.Fatalf("Select(%v) = %s, first matching Explain candidate = %s", l, idOf(got), idOf(first))
		}
	}
}

// TestSelectBenchCatalog checks the benchmark's catalog shape (one group per
// mac, a few role and cabinet groups, a default) against brute force.
func TestSelectBenchCatalog(t *testing.T) {
	const n = 3000
	gs := benchGroups(n)
	ix, err := NewIndex(gs)
	if err != nil {
		t.Fatal(err)
	}
	order := bruteOrder(gs)
	r := rand.New(rand.NewPCG(3, 4))
	roles := []string{"worker", "services", "gpu"}
	for range 500 {
		i := r.IntN(n + n/10) // some macs are unknown
		l := Labels{"mac": benchMAC(i), "arch": "x86_64"}
		if r.IntN(4) != 0 {
			l["role"] = roles[r.IntN(len(roles))]
		}
		if r.IntN(2) == 0 {
			l["cabinet"] = fmt.Sprint(r.IntN(42))
		}
		if got, want := ix.Select(l), firstMatch(order, l); got != want {
			t.Fatalf("Select(%v) = %s, brute force = %s", l, idOf(got), idOf(want))
		}
	}
}
