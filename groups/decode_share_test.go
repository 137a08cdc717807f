package groups

import (
	"fmt"
	"testing"
	"unsafe"
)

// TestDecodeSharesRepeatedStrings: the strings that repeat from group to
// group (metadata keys, a shared value, the profile) are one string in
// memory across the groups decoded, while each group keeps its own
// values; the decoded groups are what the strict decoder gives.
func TestDecodeSharesRepeatedStrings(t *testing.T) {
	const n = 200
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGz0bM7wq4Vd1rL0aT2x3s5cYwqf8m1n2b3v4c5x6z7a ops@example.com"
	sshData := map[*byte]int{}
	keyData := map[*byte]int{}
	profileData := map[*byte]int{}
	for i := range n {
		data := fmt.Sprintf(`{"id":"m%03d","profile":"butane","selector":{"mac":"52:54:00:00:00:%02x"},"metadata":{"hostname":"node-%03d","gateway":"10.0.0.1","ssh_authorized_keys":[%q]}}`, i, i%256, i, key)
		g, err := Decode([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		strict, err := decodeStrict([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		if err := strict.Normalize(); err != nil {
			t.Fatal(err)
		}
		if !equalGroups(g, strict) {
			t.Fatalf("group %d: %+v, the strict decoder gives %+v", i, g, strict)
		}
		if h := g.Metadata.Map()["hostname"]; h != fmt.Sprintf("node-%03d", i) {
			t.Fatalf("group %d: hostname %v", i, h)
		}
		ssh := g.Metadata.Map()["ssh_authorized_keys"].([]any)[0].(string)
		sshData[unsafe.StringData(ssh)]++
		profileData[unsafe.StringData(g.Profile)]++
		for k := range g.Metadata.Map() {
			if k == "gateway" {
				keyData[unsafe.StringData(k)]++
			}
		}
	}
	// A collection may empty the pool of tables once or twice meanwhile:
	// most groups share, not necessarily all.
	for what, m := range map[string]map[*byte]int{"the SSH key": sshData, "the metadata key": keyData, "the profile": profileData} {
		if len(m) > 5 {
			t.Errorf("%s of %d groups is %d strings in memory, want one (a few at most)", what, n, len(m))
		}
	}
}

// equalGroups compares the Go syntax of two groups, their metadata as the
// map it stands for (a Metadata's shared keys are a pointer).
func equalGroups(a, b *Group) bool {
	show := func(g *Group) string {
		c := *g
		md := c.Metadata.Map()
		c.Metadata = Metadata{}
		return fmt.Sprintf("%#v %#v", c, md)
	}
	return show(a) == show(b)
}
