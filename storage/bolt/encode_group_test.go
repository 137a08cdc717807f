package bolt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/groups"
)

// TestEncodeGroupIsMarshal: the group encoder of the catalog write gives
// json.Marshal's bytes (what the store held before it, and what its
// compare-and-swap digest is of) for groups of every field, plain and
// escaped strings, and metadata of every JSON type.
func TestEncodeGroupIsMarshal(t *testing.T) {
	gs := []*groups.Group{
		{ID: "a", Profile: "p"},
		{ID: "m000001", Name: "node one", Profile: "node", Selector: groups.SelectorOf(map[string]string{"mac": "52:54:00:00:00:01"}),
			Metadata: groups.MetadataOf(map[string]any{"hostname": "node-000001", "ip": "10.0.0.1/24", "rack": 3.0, "keys": []any{"ssh-ed25519 AAAA x@y"}})},
		{ID: "e", Profile: "p", Selector: groups.SelectorOf(map[string]string{"role": "etcd", "zone": "b", "a": "c"}), Pool: "svc", EtcdCluster: true, InstallOnce: true,
			Written: groups.SelectorOf(map[string]string{"ROLE": "etcd", "zone": "b", "a": "c"})},
		{ID: "html<&>", Profile: "p"},
		{ID: "q", Profile: "p\"\\", Metadata: groups.MetadataOf(map[string]any{"x": "tab\there"})},
		{ID: "u", Profile: "p", Metadata: groups.MetadataOf(map[string]any{"é": "ü", "k": "\u2028"})},
		{ID: "n", Profile: "p", Metadata: groups.MetadataOf(map[string]any{
			"f": []any{0.0, math.Copysign(0, -1), 1e21, 1e-7, 123456789.0, -3.25, 1.0 / 3},
			"n": nil, "t": true, "ff": false, "e": map[string]any{}, "l": []any{}, "nl": []any(nil),
			"deep": map[string]any{"b": map[string]any{"c": []any{map[string]any{"z": "1", "a": nil}}}},
			"num":  json.Number("12.50"),
		})},
		{ID: "empty", Profile: "", Selector: groups.SelectorOf(map[string]string{}), Metadata: groups.MetadataOf(map[string]any{}), Written: groups.SelectorOf(map[string]string{})},
	}
	for i := range 50 {
		md := map[string]any{}
		for j := range i % 7 {
			md[fmt.Sprintf("k%d", (j*7919)%13)] = fmt.Sprintf("v-%d:%d", i, j)
		}
		gs = append(gs, &groups.Group{ID: fmt.Sprintf("g%03d", i), Profile: "p", Selector: groups.SelectorOf(map[string]string{"mac": fmt.Sprintf("52:54:00:00:00:%02x", i)}), Metadata: groups.MetadataOf(md)})
	}
	for _, g := range gs {
		want, err := json.Marshal(g)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeGroup(g)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("group %q:\n got %s\nwant %s", g.ID, got, want)
		}
	}
}

// TestEncodeGroupInArena: groups encoded one after the other into arenas
// are each json.Marshal's bytes, checked after all were encoded (no value
// is overwritten by a later one), with groups larger than an arena's room,
// groups json.Marshal encodes (an escaped string) in between, and values
// that cannot be appended to in place.
func TestEncodeGroupInArena(t *testing.T) {
	var gs []*groups.Group
	for i := range 3000 {
		md := map[string]any{"hostname": fmt.Sprintf("node-%d", i), "n": fmt.Sprint(i)}
		switch {
		case i%500 == 7:
			md["big"] = strings.Repeat(fmt.Sprintf("b%d", i), groupRoom) // past the room left, past an arena
		case i%97 == 3:
			md["escaped"] = "a \"quoted\" <word>"
		}
		gs = append(gs, &groups.Group{ID: fmt.Sprintf("g%04d", i), Profile: "p", Selector: groups.SelectorOf(map[string]string{"mac": fmt.Sprintf("52:54:00:00:%02x:%02x", i>>8, i&0xff)}), Metadata: groups.MetadataOf(md)})
	}
	var arena []byte
	vals := make([][]byte, len(gs))
	for i, g := range gs {
		v, err := encodeGroupIn(&arena, g)
		if err != nil {
			t.Fatal(err)
		}
		if cap(v) != len(v) {
			t.Fatalf("group %d: value of length %d has capacity %d", i, len(v), cap(v))
		}
		vals[i] = v
	}
	for i, g := range gs {
		want, err := json.Marshal(g)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(vals[i], want) {
			t.Fatalf("group %d:\n got %s\nwant %s", i, vals[i], want)
		}
	}
}
