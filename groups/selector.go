package groups

import (
	"encoding/json"
	"iter"
	"slices"
	"strings"
)

// Label is one key/value pair of a selector.
type Label struct{ Key, Value string }

// Selector is a group's selector: its key/value pairs sorted by key, each
// key once. It is a slice rather than a map[string]string because nearly
// every selector holds one pair (a mac): a Go map of one entry takes a
// header and an 8-slot group, some 350 bytes, where the slice takes 32;
// at 100,000 groups that is 30 MB of a catalog's live heap. Its JSON
// form is the map's: an object with the keys in sorted order.
//
// SelectorOf, ParseSelector, Decode and Normalize return selectors in
// order; a Selector written as a literal should be too (Get and Equal
// work on any order; MarshalJSON and String sort).
type Selector []Label

// SelectorOf returns the pairs of m as a Selector: nil for a nil map,
// an empty (not nil) Selector for an empty one.
func SelectorOf(m map[string]string) Selector {
	if m == nil {
		return nil
	}
	s := make(Selector, 0, len(m))
	for k, v := range m {
		s = append(s, Label{k, v})
	}
	s.sort()
	return s
}

func (s Selector) sort() {
	slices.SortFunc(s, func(a, b Label) int { return strings.Compare(a.Key, b.Key) })
}

// sorted reports whether s is in key order, each key once.
func (s Selector) sorted() bool {
	for i := 1; i < len(s); i++ {
		if s[i-1].Key >= s[i].Key {
			return false
		}
	}
	return true
}

// inOrder returns s, or a sorted copy when s is not in key order.
func (s Selector) inOrder() Selector {
	if s.sorted() {
		return s
	}
	c := slices.Clone(s)
	slices.SortStableFunc(c, func(a, b Label) int { return strings.Compare(a.Key, b.Key) })
	return c
}

// Len returns the number of pairs.
func (s Selector) Len() int { return len(s) }

// Get returns the value of key and whether s has it.
func (s Selector) Get(key string) (string, bool) {
	for _, l := range s {
		if l.Key == key {
			return l.Value, true
		}
	}
	return "", false
}

// All yields the pairs in order.
func (s Selector) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, l := range s {
			if !yield(l.Key, l.Value) {
				return
			}
		}
	}
}

// Map returns the pairs as a new map, nil for a nil Selector.
func (s Selector) Map() map[string]string {
	if s == nil {
		return nil
	}
	m := make(map[string]string, len(s))
	for _, l := range s {
		m[l.Key] = l.Value
	}
	return m
}

// Equal reports whether s and t hold the same pairs (as maps.Equal of
// their maps: a nil and an empty Selector are equal).
func (s Selector) Equal(t Selector) bool {
	if len(s) != len(t) {
		return false
	}
	if !s.sorted() || !t.sorted() {
		return mapsEqual(s.Map(), t.Map())
	}
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// String returns the pairs as sorted "k=v" joined by commas, matchbox's
// tie-break key.
func (s Selector) String() string {
	s = s.inOrder()
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0].Key + "=" + s[0].Value
	}
	// Sorted as the "k=v" strings, as SelectorString sorts them: a key
	// that is a prefix of another may sort otherwise ("a=1" > "a.b=2").
	pairs := make([]string, len(s))
	for i, l := range s {
		pairs[i] = l.Key + "=" + l.Value
	}
	slices.Sort(pairs)
	return strings.Join(pairs, ",")
}

// MarshalJSON writes s as encoding/json writes a map[string]string: an
// object with its keys sorted.
func (s Selector) MarshalJSON() ([]byte, error) {
	if s == nil {
		return []byte("null"), nil
	}
	s = s.inOrder()
	b := make([]byte, 0, 2+len(s)*48)
	b = append(b, '{')
	for i, l := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, l.Key)
		b = append(b, ':')
		b = appendJSONString(b, l.Value)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads what json.Unmarshal reads into a
// map[string]string (null: a nil Selector), with the same errors.
func (s *Selector) UnmarshalJSON(data []byte) error {
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	*s = SelectorOf(m)
	return nil
}

// appendJSONString appends s quoted as encoding/json quotes it.
func appendJSONString(b []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			plain = false
			break
		}
	}
	if plain {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	enc, _ := json.Marshal(s) // a string: cannot fail
	return append(b, enc...)
}
