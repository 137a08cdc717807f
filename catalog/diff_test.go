package catalog

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/provisiond/provisiond/groups"
)

// TestDiffAgreesWithJSON: Diff's fast value comparison must give the
// answer a comparison of the canonical JSON gives, including for values
// that are unequal but encode alike and equal-looking ones that do not.
func TestDiffAgreesWithJSON(t *testing.T) {
	base := func() *groups.Group {
		return &groups.Group{ID: "g", Profile: "p", Selector: groups.SelectorOf(map[string]string{"mac": "52:54:00:00:00:01"}),
			Metadata: groups.MetadataOf(map[string]any{"n": 1.0, "s": "x", "l": []any{"a", 2.0, true, nil}, "m": map[string]any{"k": "v"}})}
	}
	cases := map[string]func(g *groups.Group){
		"same":                 func(g *groups.Group) {},
		"nil vs empty meta":    func(g *groups.Group) { g.Metadata = groups.Metadata{} },
		"number changed":       func(g *groups.Group) { setMeta(g, "n", 2.0) },
		"minus zero":           func(g *groups.Group) { setMeta(g, "n", math.Copysign(0, -1)) },
		"json.Number alike":    func(g *groups.Group) { setMeta(g, "n", json.Number("1")) },
		"json.Number differs":  func(g *groups.Group) { setMeta(g, "n", json.Number("1.0")) },
		"nested changed":       func(g *groups.Group) { setMeta(g, "m", map[string]any{"k": "w"}) },
		"list shorter":         func(g *groups.Group) { setMeta(g, "l", []any{"a"}) },
		"nil list":             func(g *groups.Group) { setMeta(g, "l", []any(nil)) },
		"type changed":         func(g *groups.Group) { setMeta(g, "s", 1.0) },
		"selector changed":     func(g *groups.Group) { g.Selector = groups.SelectorOf(map[string]string{"mac": "52:54:00:00:00:02"}) },
		"empty selector":       func(g *groups.Group) { g.Selector = groups.SelectorOf(map[string]string{}) },
		"written":              func(g *groups.Group) { g.Written = groups.SelectorOf(map[string]string{"MAC": "52-54-00-00-00-01"}) },
		"install once":         func(g *groups.Group) { g.InstallOnce = true },
		"name":                 func(g *groups.Group) { g.Name = "n" },
		"metadata key missing": func(g *groups.Group) { setMeta(g, "s", nil, true) },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			a, b := New(), New()
			a.Groups["g"] = base()
			next := base()
			change(next)
			b.Groups["g"] = next
			ja, _ := json.Marshal(a.Groups["g"])
			jb, _ := json.Marshal(next)
			want := []string{}
			if string(ja) != string(jb) {
				want = []string{"groups/g"}
			}
			if got := Diff(a, b).Updated; !reflect.DeepEqual(got, want) {
				t.Errorf("Diff updated %v, want %v (JSON %s vs %s)", got, want, ja, jb)
			}
			if got := Diff(b, a).Updated; !reflect.DeepEqual(got, want) {
				t.Errorf("reversed: Diff updated %v, want %v", got, want)
			}
		})
	}
}

func TestDiffCreatedDeleted(t *testing.T) {
	a, b := New(), New()
	for i := range 4 {
		id := fmt.Sprint("g", i)
		a.Groups[id] = &groups.Group{ID: id, Profile: "p"}
		b.Groups[id] = &groups.Group{ID: id, Profile: "p"}
	}
	delete(b.Groups, "g0")
	b.Groups["g9"] = &groups.Group{ID: "g9", Profile: "p"}
	b.Groups["g2"] = &groups.Group{ID: "g2", Profile: "q"}
	a.Templates["ignition"] = map[string]string{"a.yaml": "x", "b.yaml": "y"}
	b.Templates["ignition"] = map[string]string{"a.yaml": "x2", "c.yaml": "z"}
	got := Diff(a, b)
	want := Changes{Created: []string{"groups/g9", "ignition/c.yaml"}, Updated: []string{"groups/g2", "ignition/a.yaml"}, Deleted: []string{"groups/g0", "ignition/b.yaml"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Diff = %+v, want %+v", got, want)
	}
}

// setMeta sets (or, with del, deletes) metadata key k of g.
func setMeta(g *groups.Group, k string, v any, del ...bool) {
	m := g.Metadata.Map()
	if len(del) > 0 {
		delete(m, k)
	} else {
		m[k] = v
	}
	g.Metadata = groups.MetadataOf(m)
}
