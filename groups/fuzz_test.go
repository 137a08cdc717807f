package groups

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var macForm = regexp.MustCompile(`^[0-9a-f]{2}(:[0-9a-f]{2})*$`)

func FuzzParseMAC(f *testing.F) {
	for _, tt := range parseMACTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseMAC(s)
		if err != nil {
			if !errors.Is(err, ErrBadMAC) {
				t.Fatalf("ParseMAC(%q): %v does not wrap ErrBadMAC", s, err)
			}
			return
		}
		if !macForm.MatchString(got) {
			t.Fatalf("ParseMAC(%q) = %q, not lowercase colon form", s, got)
		}
		if n := (len(got) + 1) / 3; n != 6 && n != 8 && n != 20 {
			t.Fatalf("ParseMAC(%q) = %q, %d bytes", s, got, n)
		}
		again, err := ParseMAC(got)
		if err != nil || again != got {
			t.Fatalf("ParseMAC(%q) = %q, %v; want it to re-parse to itself", got, again, err)
		}
	})
}

func FuzzParseUUID(f *testing.F) {
	for _, tt := range parseUUIDTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseUUID(s)
		if err != nil {
			if !errors.Is(err, ErrBadUUID) {
				t.Fatalf("ParseUUID(%q): %v does not wrap ErrBadUUID", s, err)
			}
			return
		}
		if len(got) != 36 || got != strings.ToLower(strings.TrimSpace(s)) {
			t.Fatalf("ParseUUID(%q) = %q", s, got)
		}
		for i, c := range []byte(got) {
			dash := i == 8 || i == 13 || i == 18 || i == 23
			if dash != (c == '-') || !dash && !strings.ContainsRune("0123456789abcdef", rune(c)) {
				t.Fatalf("ParseUUID(%q) = %q: byte %d is %q", s, got, i, c)
			}
		}
		again, err := ParseUUID(got)
		if err != nil || again != got {
			t.Fatalf("ParseUUID(%q) = %q, %v; want it to re-parse to itself", got, again, err)
		}
	})
}

func FuzzFromQuery(f *testing.F) {
	for _, tt := range fromQueryTests {
		if len(tt.query) < 4096 {
			f.Add(tt.query)
		}
	}
	f.Add("mac=52:54:00:89:d8:10&MAC=zz&Mac=&uuid=&UUID=5B8A7C9E-0D1F-4A2B-8C3D-4E5F6A7B8C9D")
	f.Add("%FF=a&%FE=b&%C4%B0=c")
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // keep what parsed, like net/http does
		l, err := FromQuery(q)
		if err != nil {
			if !errors.Is(err, ErrBadMAC) && !errors.Is(err, ErrBadUUID) && !errors.Is(err, ErrBadLabels) {
				t.Fatalf("FromQuery(%q): unexpected error %v", raw, err)
			}
			for range 3 {
				if l2, err2 := FromQuery(q); err2 == nil {
					t.Fatalf("FromQuery(%q) failed with %v, then returned %v", raw, err, l2)
				}
			}
			return
		}
		if len(l) > MaxLabels {
			t.Fatalf("FromQuery(%q) returned %d labels", raw, len(l))
		}
		for k, vs := range q {
			if len(vs) > 0 && !printable(k) {
				t.Fatalf("FromQuery(%q) accepted the key %q", raw, k)
			}
		}
		for k, v := range l {
			if k != strings.ToLower(k) {
				t.Fatalf("FromQuery(%q): key %q is not lowercase", raw, k)
			}
			if len(k) > MaxLabelKey || len(v) > MaxLabelValue {
				t.Fatalf("FromQuery(%q): label %q is too long", raw, k)
			}
		}
		// An empty mac or uuid is kept empty (matchbox's "uuid="); any
		// other must be canonical.
		if mac, ok := l["mac"]; ok && mac != "" {
			if again, err := ParseMAC(mac); err != nil || again != mac {
				t.Fatalf("FromQuery(%q): mac %q re-parses to %q, %v", raw, mac, again, err)
			}
		}
		if id, ok := l["uuid"]; ok && id != "" {
			if again, err := ParseUUID(id); err != nil || again != id {
				t.Fatalf("FromQuery(%q): uuid %q re-parses to %q, %v", raw, id, again, err)
			}
		}
		// Map iteration order must not change the answer.
		for range 3 {
			l2, err := FromQuery(q)
			if err != nil || !maps.Equal(l, l2) {
				t.Fatalf("FromQuery(%q) gave %v, then %v, %v", raw, l, l2, err)
			}
		}
	})
}

func FuzzParseSelector(f *testing.F) {
	for _, tt := range parseSelectorTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := ParseSelector(s)
		if err != nil {
			return
		}
		for k, v := range sel.All() {
			if k == "" || k != strings.ToLower(k) {
				t.Fatalf("ParseSelector(%q): bad key %q", s, k)
			}
			if k == "mac" {
				if again, err := ParseMAC(v); err != nil || again != v {
					t.Fatalf("ParseSelector(%q): mac %q not normalized", s, v)
				}
			}
		}
		// The canonical form parses back to the same selector.
		canon := sel.String()
		again, err := ParseSelector(canon)
		if err != nil || !again.Equal(sel) {
			t.Fatalf("ParseSelector(%q) = %q; re-parsed %q = %q, %v", s, sel, canon, again, err)
		}
	})
}

func FuzzDecodeGroup(f *testing.F) {
	for _, tt := range decodeTests {
		f.Add([]byte(tt.json))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode(%q): %v does not wrap ErrInvalid", data, err)
			}
			return
		}
		if g.ID == "" || g.Profile == "" || g.Selector == nil {
			t.Fatalf("Decode(%q) = %+v", data, g)
		}
		// Normalize is idempotent.
		h := *g
		h.Selector = slices.Clone(g.Selector)
		if err := h.Normalize(); err != nil {
			t.Fatalf("Normalize of a decoded group: %v", err)
		}
		if !maps.Equal(h.Selector.Map(), g.Selector.Map()) {
			t.Fatalf("Normalize changed %v to %v", g.Selector, h.Selector)
		}
		// SelectorString is the sorted pairs.
		pairs := make([]string, 0, len(g.Selector))
		for k, v := range g.Selector.Map() {
			if k != strings.ToLower(k) {
				t.Fatalf("selector key %q is not lowercase", k)
			}
			pairs = append(pairs, k+"="+v)
		}
		slices.Sort(pairs)
		if got := g.SelectorString(); got != strings.Join(pairs, ",") {
			t.Fatalf("SelectorString = %q, want %q", got, strings.Join(pairs, ","))
		}
		// What a store writes back decodes to the same group.
		out, err := json.Marshal(g)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		back, err := Decode(out)
		if err != nil {
			t.Fatalf("Decode(Marshal(%+v)) = %v", g, err)
		}
		if g.Metadata.Len() == 0 {
			back.Metadata, g.Metadata = Metadata{}, Metadata{}
		}
		if !reflect.DeepEqual(back, g) {
			t.Fatalf("round trip: %+v became %+v", g, back)
		}
	})
}

// fuzzBytes hands out bytes of the fuzz input, then zeros.
type fuzzBytes []byte

func (b *fuzzBytes) next() int {
	if len(*b) == 0 {
		return 0
	}
	c := (*b)[0]
	*b = (*b)[1:]
	return int(c)
}

// groupsFromBytes derives up to 32 groups with distinct selectors over a
// small alphabet, and then a request's labels, from data.
func groupsFromBytes(data []byte) ([]*Group, Labels) {
	keys := []string{"mac", "role", "cabinet", "zone"}
	vals := []string{"0", "1", "2"}
	b := fuzzBytes(data)
	n := b.next() % 33
	seen := map[string]bool{}
	var gs []*Group
	for i := range n {
		mask := b.next()
		sel := map[string]string{}
		for j, k := range keys {
			if mask&(1<<j) != 0 {
				sel[k] = vals[b.next()%len(vals)]
			}
		}
		s := SelectorString(sel)
		if seen[s] {
			continue
		}
		seen[s] = true
		gs = append(gs, &Group{ID: fmt.Sprintf("g%d", i), Profile: "p", Selector: SelectorOf(sel)})
	}
	l := Labels{}
	mask := b.next()
	for j, k := range append(keys, "extra") {
		if mask&(1<<j) != 0 {
			l[k] = vals[b.next()%len(vals)]
		}
	}
	return gs, l
}

func FuzzSelect(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 0, 1, 0, 2, 1, 1, 3, 0, 1})
	f.Add([]byte{5, 1, 0, 2, 1, 4, 2, 3, 0, 1, 0, 15, 1, 1, 1, 1, 31, 0, 1, 1, 1, 2})
	f.Add([]byte("a fairly long seed with many different bytes in it: 0123456789"))
	f.Fuzz(func(t *testing.T, data []byte) {
		gs, l := groupsFromBytes(data)
		ix, err := NewIndex(gs)
		if err != nil {
			t.Fatalf("NewIndex: %v", err)
		}
		got, want := ix.Select(l), bruteSelect(gs, l)
		if got != want {
			t.Fatalf("Select(%v) = %s %s, brute force = %s %s\ngroups: %s", l, idOf(got), selOf(got), idOf(want), selOf(want), describe(gs))
		}
	})
}
