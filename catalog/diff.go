package catalog

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"sort"

	"github.com/provisiond/provisiond/groups"
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
//
// Objects present in both are first compared as values (the same pointer,
// or equal fields): equal values have the same JSON, so only the objects
// whose values differ are encoded, to tell a real change from one that
// encodes alike (an empty map and none, 1 and 1.0).
func Diff(old, next *Catalog) Changes {
	if old == nil {
		old = New()
	}
	if next == nil {
		next = New()
	}
	ch := Changes{Created: []string{}, Updated: []string{}, Deleted: []string{}}
	diffKind(&ch, "profiles/", old.Profiles, next.Profiles, deepEqual)
	diffKind(&ch, "groups/", old.Groups, next.Groups, equalGroup)
	diffKind(&ch, "pools/", old.Pools, next.Pools, deepEqual)
	diffKind(&ch, "machines/", old.Machines, next.Machines, deepEqual)
	for _, kind := range profiles.Kinds {
		a, b := old.Templates[kind], next.Templates[kind]
		prefix := string(kind) + "/"
		for name, at := range a {
			bt, ok := b[name]
			switch {
			case !ok:
				ch.Deleted = append(ch.Deleted, prefix+name)
			case at != bt:
				ch.Updated = append(ch.Updated, prefix+name)
			}
		}
		for name := range b {
			if _, ok := a[name]; !ok {
				ch.Created = append(ch.Created, prefix+name)
			}
		}
	}
	sort.Strings(ch.Created)
	sort.Strings(ch.Updated)
	sort.Strings(ch.Deleted)
	return ch
}

// diffKind adds the objects of one kind that differ between a and b to ch.
// equal is a fast test that may say false for values whose JSON is the
// same; it must never say true for values whose JSON differs.
func diffKind[V any](ch *Changes, prefix string, a, b map[string]V, eq func(V, V) bool) {
	for id, av := range a {
		bv, ok := b[id]
		switch {
		case !ok:
			ch.Deleted = append(ch.Deleted, prefix+id)
		case eq(av, bv):
		case !bytes.Equal(canon(av), canon(bv)):
			ch.Updated = append(ch.Updated, prefix+id)
		}
	}
	for id := range b {
		if _, ok := a[id]; !ok {
			ch.Created = append(ch.Created, prefix+id)
		}
	}
}

// deepEqual is reflect.DeepEqual, for the kinds that hold no floats
// (where 0 == -0 but they encode differently).
func deepEqual[V any](a, b V) bool { return reflect.DeepEqual(a, b) }

func canon(v any) []byte {
	b, _ := json.Marshal(v) // plain structs and maps: cannot fail
	return b
}

// equalGroup reports whether two groups are equal field by field (and so
// encode alike), without reflection for the common metadata values.
func equalGroup(a, b *groups.Group) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil {
		return false
	}
	return a.ID == b.ID && a.Name == b.Name && a.Profile == b.Profile && a.Pool == b.Pool &&
		a.EtcdCluster == b.EtcdCluster && a.InstallOnce == b.InstallOnce &&
		(a.Selector == nil) == (b.Selector == nil) && a.Selector.Equal(b.Selector) &&
		(a.Written == nil) == (b.Written == nil) && a.Written.Equal(b.Written) &&
		equalMetadata(a.Metadata, b.Metadata)
}

// equalMetadata is equalValue for the top-level metadata.
func equalMetadata(a, b groups.Metadata) bool {
	if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
		return false
	}
	for i := range a.Len() {
		ak, av := a.At(i)
		bk, bv := b.At(i)
		if ak != bk || !equalValue(av, bv) {
			return false
		}
	}
	return true
}

// equalValue compares decoded JSON values; any other type is compared
// with reflect.DeepEqual.
func equalValue(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y) // 0 and -0 encode differently
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || (x == nil) != (y == nil) || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !equalValue(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || (x == nil) != (y == nil) || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValue(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return false // json.Number or another type: let the JSON decide
}
