package groups

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestNewIndexFirstErrorInOrder: NewIndex finds duplicates by sorting,
// yet reports the one a walk of gs in its order meets first, as it did
// with maps: of several duplicate selectors the one whose second group
// comes first, named by its first two groups; a duplicate id before it
// wins, and at the same group the id is reported.
func TestNewIndexFirstErrorInOrder(t *testing.T) {
	tests := []struct {
		name   string
		groups []*Group
		want   string // the error names these, in any order
		dupSel *DuplicateSelectorError
	}{
		{"second duplicate class met first",
			[]*Group{grp("p", "role", "a"), grp("q", "role", "b"), grp("r", "role", "b"), grp("s", "role", "a"), grp("t", "role", "b")},
			"", &DuplicateSelectorError{A: "q", B: "r", Selector: "role=b"}},
		{"three of one selector: the first two",
			[]*Group{grp("z", "mac", mac1), grp("y", "mac", mac1), grp("x", "mac", mac1)},
			"", &DuplicateSelectorError{A: "y", B: "z", Selector: "mac=" + mac1}},
		{"duplicate id before a duplicate selector",
			[]*Group{grp("b", "role", "a"), grp("b", "role", "c"), grp("c", "role", "a")},
			`duplicate group id "b"`, nil},
		{"duplicate selector before a duplicate id",
			[]*Group{grp("b", "role", "a"), grp("c", "role", "a"), grp("b", "role", "c")},
			"", &DuplicateSelectorError{A: "b", B: "c", Selector: "role=a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewIndex(tt.groups)
			var dup *DuplicateSelectorError
			switch {
			case tt.dupSel != nil:
				if !errors.As(err, &dup) || *dup != *tt.dupSel {
					t.Fatalf("err = %v, want %+v", err, *tt.dupSel)
				}
			default:
				if errors.As(err, &dup) || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want %q", err, tt.want)
				}
			}
		})
	}
}

// TestIndexGroupByIDInAnyOrder: Group finds every group whether gs came
// in id order (byID is filled without a sort) or not.
func TestIndexGroupByIDInAnyOrder(t *testing.T) {
	var sorted, shuffled []*Group
	for i := range 300 {
		sorted = append(sorted, grp(fmt.Sprintf("g%03d", i), "mac", benchMAC(i)))
	}
	for i := range sorted {
		shuffled = append(shuffled, sorted[(i*7)%len(sorted)])
	}
	for name, gs := range map[string][]*Group{"sorted": sorted, "shuffled": shuffled} {
		ix, err := NewIndex(gs)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gs {
			if got := ix.Group(g.ID); got != g {
				t.Fatalf("%s: Group(%q) = %v", name, g.ID, got)
			}
			if got := ix.Select(Labels{"mac": g.Selector.Map()["mac"]}); got != g {
				t.Fatalf("%s: Select(%s) = %v, want %s", name, g.Selector.Map()["mac"], got, g.ID)
			}
		}
		if ix.Group("g300") != nil || ix.Group("") != nil {
			t.Fatalf("%s: a group that is not there was found", name)
		}
	}
}
