package inventory

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
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
		{Key: "52:54:00:00:00:03", State: Booting, Events: []Event{
			{Time: now, Endpoint: "/ipxe", Group: "g", Remote: "10.0.0.1:4001", Status: 200, Repeats: 41, Last: now.Add(20 * time.Minute)},
			{Time: now, Endpoint: "/ipxe", Status: 404, Repeats: -1},
			{Time: now, Endpoint: "/ipxe", Status: 200, Last: now.In(time.FixedZone("x", -7200))},
			{Time: now, Endpoint: "/ipxe", Status: 200, LocalBoot: true, Cause: "c", Repeats: math.MaxInt, Last: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}},
		{Key: "k", Events: []Event{{Repeats: 1, Last: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}},
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

// TestEncodeDecodeRoundTrip: a machine with counted events, written by
// AppendJSON and read by encoding/json (as the stores read it), is the
// machine.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 21, 7, 45, 1, 123456789, time.UTC)
	m := Machine{Key: "52:54:00:00:00:01", MAC: "52:54:00:00:00:01", FirstSeen: now, LastSeen: now.Add(time.Hour), LastEndpoint: "/ipxe", Group: "g", Profile: "p", State: Booting,
		Events: []Event{
			{Time: now, Endpoint: "/ipxe", Group: "g", Profile: "p", Remote: "10.0.0.1:4000", Status: 200, State: Booting},
			{Time: now.Add(time.Second), Endpoint: "/ipxe", Group: "g", Profile: "p", Remote: "10.0.0.1:4077", Status: 200, Repeats: 76, Last: now.Add(time.Hour)},
		},
		Changes: []Change{{Time: now, To: Booting, Cause: "/ipxe"}}}
	b, err := m.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"repeats":76,"last":"2026-11-21T08:45:01.123456789Z"}`)) {
		t.Errorf("encoded %s", b)
	}
	var got Machine
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
	}
	// and back into a recorder, and out of it
	r := NewRecorder(nil, []Machine{got}, nil)
	if again, _ := r.Get(m.Key); !reflect.DeepEqual(again, m) {
		t.Fatalf("through a recorder:\n got %+v\nwant %+v", again, m)
	}
}
