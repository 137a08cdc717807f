package groups

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// FuzzMACFast: NewMAC's fast path gives what net.ParseMAC gives, and
// takes or refuses exactly what it does.
func FuzzMACFast(f *testing.F) {
	for _, tt := range parseMACTests {
		f.Add(tt.in)
	}
	for _, s := range []string{"52:54:00:89:d8:10", "52-54-00-89-D8-10", "52:54-00:89:d8:10", "52:54:00:89:d8:1g", "52:54:00:89:d8:10 ", " 52:54:00:89:d8:10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseMAC(s)
		hw, herr := net.ParseMAC(strings.TrimSpace(s))
		if (err == nil) != (herr == nil) {
			t.Fatalf("ParseMAC(%q) error %v, net.ParseMAC %v", s, err, herr)
		}
		if err == nil && got != hw.String() {
			t.Fatalf("ParseMAC(%q) = %q, net.ParseMAC %q", s, got, hw.String())
		}
		if m, ok := macFast(s); ok && m != hw.String() {
			t.Fatalf("macFast(%q) = %q, net.ParseMAC %q (%v)", s, m, hw, herr)
		}
	})
}

// TestDecodeSharesItsStorage: a decoded group's strings and boxed values
// do not cost an allocation each, and still read, marshal and compare as
// the strict decoder's.
func TestDecodeSharesItsStorage(t *testing.T) {
	data := []byte(`{"id":"m000001","name":"node-000001","profile":"butane","selector":{"mac":"52:54:00:00:00:01"},"metadata":{"cidr":"10.128.0.0/9","gateway":"10.128.0.1","hostname":"node-000001","ip_address":"10.128.0.1","rack":"r000","n":3,"f":-1.5,"e":"","ok":true,"ssh_authorized_keys":["ssh-ed25519 AAAA ops@example.com","k2"],"nest":{"x":[1,"y",null]}}}`)
	g, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	strict, err := decodeStrict(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := strict.Normalize(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, strict) {
		t.Fatalf("Decode = %#v, strict %#v", g, strict)
	}
	if g.Metadata.Map()["hostname"].(string) != "node-000001" || g.Metadata.Map()["n"].(float64) != 3 || g.Metadata.Map()["f"].(float64) != -1.5 {
		t.Fatalf("metadata values read back wrong: %#v", g.Metadata)
	}
	a, _ := json.Marshal(g)
	b, _ := json.Marshal(strict)
	if string(a) != string(b) {
		t.Fatalf("marshal: %s, strict %s", a, b)
	}
	// Changing the map Metadata.Map returns touches neither the group
	// nor another group decoded alike (which shares its keys).
	g2, _ := Decode(data)
	m := g.Metadata.Map()
	m["hostname"] = "changed"
	if v, _ := g.Metadata.Get("hostname"); v != "node-000001" {
		t.Fatalf("Map shares the group's values: %v", v)
	}
	if v, _ := g2.Metadata.Get("hostname"); v != "node-000001" {
		t.Fatalf("groups share values: %v", v)
	}
	// A group of bootstorm's matchbox shape: 6 allocations (the group, its
	// strings, the slab, the selector's pairs, the metadata's values (its
	// keys are the previous group's) and the ssh key array); 9 with a
	// selector and metadata map, 39 with a string and a box per value.
	mb := []byte(`{"id":"m000000","name":"node-000000","profile":"butane","selector":{"mac":"52:54:00:00:00:00"},"metadata":{"cidr":"10.128.0.0/9","gateway":"10.128.0.1","hostname":"node-000000","ip_address":"10.128.0.0","rack":"r000","ssh_authorized_keys":["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGz0bM7wq4Vd1rL0aT2x3s5cYwqf8m1n2b3v4c5x6z7a ops@example.com"]}}`)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Decode(mb); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 7 {
		t.Errorf("Decode: %.0f allocations, want at most 7", allocs)
	}
}

// TestStringValues: the slab is sized to the string values, keys not
// counted, nested ones counted, the count stopping at the value's end.
func TestStringValues(t *testing.T) {
	for _, tt := range []struct {
		json string
		want int
	}{
		{`{"a":"x","b":["y","z"],"c":{"d":"w"},"n":1} , "after":"v"}`, 4},
		{`{ "a" : "x" , "b" : 2 }`, 1},
		{`{}`, 0},
		{`"x", "y"`, 1},
		{`{"a":"unterminated`, 0},
	} {
		if got := stringValues([]byte(tt.json), nil); got != tt.want {
			t.Errorf("stringValues(%s) = %d, want %d", tt.json, got, tt.want)
		}
	}
}

// TestSelectMACBucketsMatchBruteForce is TestSelectMatchesBruteForce with
// mac values of every kind: six-byte macs in kept form (filed in the
// index's pointer-free map), an eight-byte one and other strings (filed
// with the other keys), and labels that spell a filed mac otherwise
// (uppercase, hyphens), which must match nothing a kept-form selector
// holds.
func TestSelectMACBucketsMatchBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 12))
	macs := []string{"52:54:00:00:00:01", "52:54:00:00:00:0a", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00", "02:00:5e:10:00:00:00:01", "0", "52:54:00:00:00:0g"}
	labelMACs := append(slices.Clone(macs), "52:54:00:00:00:0A", "52-54-00-00-00-01", "52:54:00:00:00:01 ", "")
	for it := range 2000 {
		var gs []*Group
		seen := map[string]bool{}
		for i := range 1 + r.IntN(30) {
			sel := map[string]string{}
			if r.IntN(4) != 0 {
				sel["mac"] = macs[r.IntN(len(macs))]
			}
			if r.IntN(3) == 0 {
				sel["role"] = []string{"a", "b"}[r.IntN(2)]
			}
			if s := bruteSelectorString(sel); !seen[s] {
				seen[s] = true
				gs = append(gs, &Group{ID: fmt.Sprintf("g%d", i), Profile: "p", Selector: SelectorOf(sel)})
			}
		}
		ix, err := NewIndex(gs)
		if err != nil {
			t.Fatal(err)
		}
		order := bruteOrder(gs)
		for range 20 {
			l := Labels{"mac": labelMACs[r.IntN(len(labelMACs))]}
			if r.IntN(2) == 0 {
				l["role"] = []string{"a", "b", "c"}[r.IntN(3)]
			}
			if got, want := ix.Select(l), firstMatch(order, l); got != want {
				t.Fatalf("iteration %d: Select(%v) = %s, brute force %s\ngroups: %s", it, l, idOf(got), idOf(want), describe(gs))
			}
		}
	}
}
