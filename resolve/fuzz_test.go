package resolve

import (
	"testing"

	"github.com/provisiond/provisiond/groups"
)

// FuzzParseQuery: any query parses or fails with an error, never a panic;
// the mac of the facts is the label's, already in the one form (parsing it
// again changes nothing).
func FuzzParseQuery(f *testing.F) {
	for _, q := range []string{"mac=52:54:00:89:d8:10", "MAC=52-54-00-89-D8-10&role=web", "mac=5254.0089.d810&token=x", "uuid=11111111-2222-3333-4444-555555555555", "mac=nope", "%zz=1", ""} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		facts, err := ParseQuery(q)
		if err != nil {
			return
		}
		if string(facts.MAC) != facts.Labels["mac"] {
			t.Fatalf("MAC %q, label %q", facts.MAC, facts.Labels["mac"])
		}
		if facts.MAC != "" {
			again, err := groups.NewMAC(facts.MAC.String())
			if err != nil || again != facts.MAC {
				t.Fatalf("%q parses again as %q, %v", facts.MAC, again, err)
			}
		}
	})
}
