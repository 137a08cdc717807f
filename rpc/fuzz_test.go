package rpc

import (
	"maps"
	"testing"

	"github.com/poseidon/matchbox/matchbox/storage/storagepb"
)

// FuzzGroupRoundTrip: any group a client sends is refused with an error or
// accepted, never a panic; an accepted group comes back as it was sent
// (selector as written, metadata as the same JSON value), which is what
// keeps Terraform's plan free of drift.
func FuzzGroupRoundTrip(f *testing.F) {
	f.Add("node1", "p", "mac", "52:54:00:a1:9c:ae", "os", "installed", []byte(`{"pxe":"true"}`))
	f.Add("w", "p", "MAC", "52-54-00-B2-2F-86", "Role", "worker", []byte(``))
	f.Add("w", "p", "mac", "zz", "ROLE", "x", []byte(`[1]`))
	f.Add("w", "p", "uuid", "5B8A7C9E-0D1F-4A2B-8C3D-4E5F6A7B8C9D", "role", "", []byte(`{"a":{"b":[1,2.5,null]}}`))
	f.Add("", "", "", "", "k", "v", []byte(`null`))
	f.Fuzz(func(t *testing.T, id, profile, k1, v1, k2, v2 string, metadata []byte) {
		in := &storagepb.Group{Id: id, Profile: profile, Selector: map[string]string{k1: v1, k2: v2}, Metadata: metadata}
		g, err := toGroup(in)
		if err != nil {
			return
		}
		out, err := fromGroup(g)
		if err != nil {
			t.Fatalf("fromGroup(%+v): %v", g, err)
		}
		if out.Id != in.Id || out.Profile != in.Profile || !maps.Equal(out.Selector, in.Selector) {
			t.Fatalf("round trip: sent %v, got %v", in, out)
		}
		if g.Metadata.Len() > 0 && !sameJSON(t, out.Metadata, in.Metadata) {
			t.Fatalf("metadata: sent %s, got %s", in.Metadata, out.Metadata)
		}
		// What is stored is normalized: it re-normalizes to itself.
		again := *g
		if err := again.Normalize(); err != nil || !maps.Equal(again.Selector.Map(), g.Selector.Map()) {
			t.Fatalf("stored selector %v does not re-normalize: %v, %v", g.Selector, again.Selector, err)
		}
	})
}
