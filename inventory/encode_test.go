package inventory

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// TestAppendJSONMatchesEncodingJSON: the hand-written encoder writes the
// very bytes encoding/json writes from the struct tags.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	now := time.Date(2026, 11, 21, 7, 45, 1, 123456789, time.UTC)
	machines := []Machine{
		{},
		{Key: "52:54:00:00:00:01", MAC: "52:54:00:00:00:01", FirstSeen: now, LastSeen: now.Add(time.Second), LastEndpoint: "/ipxe", Group: "g", Profile: "p", State: Booting,
			Events: []Event{{Time: now, Endpoint: "/ipxe", Group: "g", Profile: "p", Remote: "10.0.0.1:4000", Status: 200}, {Time: now.In(time.FixedZone("x", 3600)), Endpoint: "/metadata", Status: 404}}},
		{Key: "uuid:x", UUID: "x", LastEndpoint: "/a<b>&\"c\"\\\n\u2028é\xff", State: Discovered, Group: "ü", Events: []Event{{Remote: "<>"}}},
		{Key: "k", FirstSeen: time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Key: "k", FirstSeen: time.Date(7, 2, 3, 4, 5, 6, 7, time.UTC), LastSeen: time.Date(2026, 12, 31, 23, 59, 59, 120000000, time.UTC)},
		{Key: "k", FirstSeen: time.Date(2026, 1, 1, 0, 0, 0, 999999999, time.UTC), LastSeen: time.Now().UTC()},
		{Key: "52:54:00:00:00:02", State: Installed,
			Events:  []Event{{Time: now, Endpoint: "/ipxe", Status: 200, LocalBoot: true}, {Time: now, Endpoint: EndpointOperator, Status: 200, State: Reprovisioning, Cause: "disk \"swapped\""}},
			Changes: []Change{{Time: now, To: Booting, Cause: "/ipxe"}, {Time: now.Add(time.Minute), From: Booting, To: Installed, Cause: "/installed"}, {To: Failed, Cause: "<&>"}}},
		{Key: "k", Changes: []Change{{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}},
		{Key: "k", State: Booting, Hardware: &Hardware{}},
		{Key: "k", Hardware: &Hardware{Serial: "S<1>", Arch: "x86_64"}},
		{Key: "k", Hardware: &Hardware{Serial: "s", Manufacturer: "QEMU \"x\"", Product: "Standard PC (i440FX + PIIX, 1996)", Platform: "pcbios", Arch: "i386"}},
		{Key: "k", Hardware: &Hardware{Platform: "efi"}},
	}
	for _, m := range machines {
		want, wantErr := json.Marshal(m)
		got, err := m.AppendJSON([]byte("prefix"))
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%+v: error %v, encoding/json's %v", m, err, wantErr)
		}
		if err != nil {
			continue
		}
		if !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Errorf("got  %s\nwant prefix%s", got, want)
		}
	}
}
