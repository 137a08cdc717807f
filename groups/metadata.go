package groups

import (
	"encoding/json"
	"iter"
	"slices"
	"strings"
)

// Metadata is a group's top-level metadata: keys and values as
// encoding/json decodes an object into map[string]any, kept as its keys in
// sorted order and their values (objects inside it are map[string]any).
// A Go map of six entries takes some 330 bytes; the values of a Metadata
// take 16 bytes each, and its keys are shared by every group decoded with
// the same keys (at 100,000 groups of the matchbox shape, 20 MB of a
// catalog's live heap). Its JSON form is the map's: an object with its
// keys sorted. The zero value is no metadata (a nil map); a Metadata is
// never changed once built.
type Metadata struct {
	// keys are the keys, sorted, each once; shared by the groups of the
	// same keys (a pointer to the slice rather than the slice, 8 bytes
	// a group instead of 24; not a pointer to the first key, so that
	// reflect.DeepEqual compares every key).
	keys *[]string
	// vals holds the values in the order of the keys; nil for no
	// metadata, empty (not nil) for an empty object.
	vals []any
}

// MetadataOf returns the entries of m as a Metadata: the zero Metadata for
// a nil map. It keeps the values, not copies of them.
func MetadataOf(m map[string]any) Metadata {
	if m == nil {
		return Metadata{}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	vals := make([]any, len(keys))
	for i, k := range keys {
		vals[i] = m[k]
	}
	return newMetadata(&keys, vals)
}

// newMetadata returns a Metadata of keys (sorted, distinct) and vals
// (their values), sharing both.
func newMetadata(keys *[]string, vals []any) Metadata {
	if len(*keys) == 0 {
		return Metadata{vals: vals[:0:0]}
	}
	return Metadata{keys: keys, vals: vals[:len(*keys):len(*keys)]}
}

// keySlice returns the keys in sorted order. The caller must not change
// them.
func (m Metadata) keySlice() []string {
	if m.keys == nil {
		return nil
	}
	return *m.keys
}

// Len returns the number of entries.
func (m Metadata) Len() int { return len(m.vals) }

// IsZero reports whether m has no entries, so that a group's metadata is
// omitted from its JSON when empty, as an empty map's is.
func (m Metadata) IsZero() bool { return len(m.vals) == 0 }

// IsNil reports whether m is the zero Metadata (a nil map, where an empty
// object decodes to an empty Metadata that is not nil).
func (m Metadata) IsNil() bool { return m.vals == nil }

// At returns the i-th entry in key order, 0 <= i < Len().
func (m Metadata) At(i int) (key string, value any) {
	return m.keySlice()[i], m.vals[i]
}

// Get returns the value of key and whether m has it.
func (m Metadata) Get(key string) (any, bool) {
	keys := m.keySlice()
	i, ok := slices.BinarySearch(keys, key)
	if !ok {
		return nil, false
	}
	return m.vals[i], true
}

// All yields the entries in key order.
func (m Metadata) All() iter.Seq2[string, any] {
	return func(yield func(string, any) bool) {
		for i, k := range m.keySlice() {
			if !yield(k, m.vals[i]) {
				return
			}
		}
	}
}

// Map returns the entries as a new map (the values themselves, not
// copies), nil for the zero Metadata.
func (m Metadata) Map() map[string]any {
	if m.vals == nil {
		return nil
	}
	out := make(map[string]any, len(m.vals))
	for i, k := range m.keySlice() {
		out[k] = m.vals[i]
	}
	return out
}

// MarshalJSON writes m as encoding/json writes the map[string]any it
// holds: its keys sorted, each value as json.Marshal writes it.
func (m Metadata) MarshalJSON() ([]byte, error) {
	if m.vals == nil {
		return []byte("null"), nil
	}
	b := make([]byte, 0, 64*len(m.vals)+2)
	b = append(b, '{')
	for i, k := range m.keySlice() {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		if s, ok := m.vals[i].(string); ok {
			b = appendJSONString(b, s)
			continue
		}
		v, err := json.Marshal(m.vals[i])
		if err != nil {
			return nil, err
		}
		b = append(b, v...)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads what json.Unmarshal reads into a map[string]any
// (null: the zero Metadata), with the same errors.
func (m *Metadata) UnmarshalJSON(data []byte) error {
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*m = MetadataOf(v)
	return nil
}

// sortFields sorts keys and vals together by key and reports whether the
// keys are distinct.
func sortFields(keys []string, vals []any) bool {
	if len(keys) > 16 {
		perm := make([]int, len(keys))
		for i := range perm {
			perm[i] = i
		}
		slices.SortFunc(perm, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
		k2, v2 := make([]string, len(keys)), make([]any, len(vals))
		for i, j := range perm {
			k2[i], v2[i] = keys[j], vals[j]
		}
		copy(keys, k2)
		copy(vals, v2)
	}
	// Insertion sort: metadata has a handful of keys, and the decoders
	// call this once a group.
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
			vals[j], vals[j-1] = vals[j-1], vals[j]
		}
	}
	for i := 1; i < len(keys); i++ {
		if keys[i] == keys[i-1] {
			return false
		}
	}
	return true
}
