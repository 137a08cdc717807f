package resolve

import (
	"net/url"
	"reflect"
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

// FuzzParseQueryFast: ParseQuery's direct parse (parseParams) gives the
// facts and the error that url.ParseQuery and FromValues give, for every
// query it takes.
func FuzzParseQueryFast(f *testing.F) {
	for _, q := range []string{
		"mac=52:54:00:89:d8:10", "MAC=52-54-00-89-D8-10&role=web", "mac=5254.0089.d810&token=x",
		"uuid=&mac=52-54-00-00-00-07&domain=&hostname=&serial=&arch=x86_64",
		"uuid=11111111-2222-3333-4444-555555555555", "mac=nope", "%zz=1", "",
		"token=&token=b&TOKEN=c", "MAC=&mac=52:54:00:89:d8:10", "a=1;b=2&c=3", "a=%41&b=%zz&c+d=e+f",
		"mac=52:54:00:89:d8:10&MAC=nope", "=x&&k", "x=\x00", "a=1&a=2&A=3",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		got, ok, gerr := parseParams(q)
		if !ok {
			return
		}
		vs, _ := url.ParseQuery(q)
		want, werr := FromValues(vs, q)
		if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
			t.Fatalf("%q: error %v, url.ParseQuery and FromValues: %v", q, gerr, werr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: %+v, url.ParseQuery and FromValues: %+v", q, got, want)
		}
	})
}
