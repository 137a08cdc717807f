package inventory

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// decodeMachines are machines of every shape AppendJSON writes: events
// with and without their optional fields, changes, hardware (empty,
// partial, full), empty fields, and strings that AppendJSON escapes.
func decodeMachines() []Machine {
	now := time.Date(2026, 11, 21, 7, 45, 1, 123456789, time.UTC)
	events := make([]Event, MaxEvents)
	for i := range events {
		events[i] = Event{Time: now.Add(time.Duration(i) * time.Millisecond), Endpoint: "/metadata", Group: "m000640", Profile: "butane",
			Remote: fmt.Sprintf("127.0.0.1:%d", 44000+i), Status: 200}
	}
	changes := make([]Change, MaxChanges+3)
	for i := range changes {
		changes[i] = Change{Time: now.Add(time.Duration(i) * time.Second), From: Booting, To: Configured, Cause: "/ignition"}
	}
	return []Machine{
		{},
		{Key: "k"},
		{Key: "52:54:00:00:00:01", MAC: "52:54:00:00:00:01", FirstSeen: now, LastSeen: now.Add(time.Second), LastEndpoint: "/ipxe", Group: "g", Profile: "p", State: Booting,
			Events: []Event{{Time: now, Endpoint: "/ipxe", Group: "g", Profile: "p", Remote: "10.0.0.1:4000", Status: 200}, {Time: now.In(time.FixedZone("x", 3600)), Endpoint: "/metadata", Status: 404}}},
		{Key: "uuid:x", UUID: "x", LastEndpoint: "/a<b>&\"c\"\\\n\u2028é\xff", State: Discovered, Group: "ü", Events: []Event{{Remote: "<>"}}},
		{Key: "k", FirstSeen: time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Key: "k", FirstSeen: time.Date(7, 2, 3, 4, 5, 6, 7, time.UTC), LastSeen: time.Date(2026, 12, 31, 23, 59, 59, 120000000, time.UTC)},
		{Key: "k", FirstSeen: time.Date(2024, 2, 29, 0, 0, 0, 999999999, time.UTC), LastSeen: time.Date(2000, 2, 29, 23, 59, 59, 1, time.UTC)},
		{Key: "52:54:00:00:00:02", State: Installed,
			Events:  []Event{{Time: now, Endpoint: "/ipxe", Status: 200, LocalBoot: true}, {Time: now, Endpoint: EndpointOperator, Status: 200, State: Reprovisioning, Cause: "disk \"swapped\""}},
			Changes: []Change{{Time: now, To: Booting, Cause: "/ipxe"}, {Time: now.Add(time.Minute), From: Booting, To: Installed, Cause: "/installed"}, {To: Failed, Cause: "<&>"}}},
		{Key: "k", State: Booting, Hardware: &Hardware{}},
		{Key: "k", Hardware: &Hardware{Serial: "S<1>", Arch: "x86_64"}},
		{Key: "k", Hardware: &Hardware{Serial: "s", Manufacturer: "QEMU \"x\"", Product: "Standard PC (i440FX + PIIX, 1996)", Platform: "pcbios", Arch: "i386"}},
		{Key: "k", Hardware: &Hardware{Serial: "s", Manufacturer: "QEMU", Product: "Standard PC (i440FX + PIIX, 1996)", Platform: "pcbios", Arch: "i386"}},
		{Key: "k", Hardware: &Hardware{Platform: "efi"}},
		{Key: "52:54:00:00:00:03", State: Booting, Events: []Event{
			{Time: now, Endpoint: "/ipxe", Group: "g", Remote: "10.0.0.1:4001", Status: 200, Repeats: 41, Last: now.Add(20 * time.Minute)},
			{Time: now, Endpoint: "/ipxe", Status: 404, Repeats: -1},
			{Time: now, Endpoint: "/ipxe", Status: 200, Last: now.In(time.FixedZone("x", -7200))},
			{Time: now, Endpoint: "/ipxe", Status: -500, LocalBoot: true, Cause: "c", Repeats: math.MaxInt, Last: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}},
		{Key: "52:54:00:00:02:80", MAC: "52:54:00:00:02:80", UUID: "4c4c4544-0036-4210-8035-b4c04f4e3332", FirstSeen: now, LastSeen: now.Add(time.Minute), LastEndpoint: "/metadata",
			Group: "m000640", Profile: "butane", State: Configured, Hardware: &Hardware{Arch: "x86_64"}, Events: events, Changes: changes},
		{Key: "k", Events: events[:1], Changes: changes[:1]},
	}
}

// checkDecode decodes data with DecodeMachine and with json.Unmarshal
// into a zero Machine, and fails unless both give the same machine (times
// with the same location) and the same error.
func checkDecode(t *testing.T, data []byte) {
	t.Helper()
	got, err := DecodeMachine(data)
	var want Machine
	wantErr := json.Unmarshal(data, &want)
	if fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Fatalf("%q: error %v, json.Unmarshal's %v", data, err, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %+v\nwant %+v", data, got, want)
	}
	for _, p := range timesOf(&got, &want) {
		if !p[0].Equal(p[1]) || p[0].Location().String() != p[1].Location().String() {
			t.Fatalf("%q: time %v, json.Unmarshal's %v", data, p[0], p[1])
		}
	}
}

// timesOf pairs the times of a and b (which are deeply equal).
func timesOf(a, b *Machine) [][2]time.Time {
	ps := [][2]time.Time{{a.FirstSeen, b.FirstSeen}, {a.LastSeen, b.LastSeen}}
	for i := range a.Events {
		ps = append(ps, [2]time.Time{a.Events[i].Time, b.Events[i].Time}, [2]time.Time{a.Events[i].Last, b.Events[i].Last})
	}
	for i := range a.Changes {
		ps = append(ps, [2]time.Time{a.Changes[i].Time, b.Changes[i].Time})
	}
	return ps
}

// TestDecodeMachineRoundTrip: what AppendJSON writes, DecodeMachine reads
// as json.Unmarshal does, and (in UTC, without escapes) on its fast path.
func TestDecodeMachineRoundTrip(t *testing.T) {
	for i, m := range decodeMachines() {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			b, err := m.AppendJSON(nil)
			if err != nil {
				return // a year AppendJSON refuses, as json.Marshal does
			}
			checkDecode(t, b)
			if fast(b) != plainUTC(b) {
				t.Errorf("%s: fast path %v, want %v", b, fast(b), plainUTC(b))
			}
			if got, _ := DecodeMachine(b); fast(b) && !reflect.DeepEqual(got, m) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, m)
			}
		})
	}
}

// fast reports whether DecodeMachine reads b without json.Unmarshal.
func fast(b []byte) bool {
	var m Machine
	d := decoder{b: b}
	return d.machine(&m) && d.i == len(d.b)
}

// plainUTC reports whether AppendJSON's output b is in the fast path's
// subset: no escapes, no bytes beyond ASCII, every time in UTC.
func plainUTC(b []byte) bool {
	s := string(b)
	return !strings.ContainsAny(s, "\\\x7f") && !strings.ContainsFunc(s, func(r rune) bool { return r >= 0x80 }) &&
		!strings.Contains(s, "+0") && !strings.Contains(s, "-02:00")
}

// TestDecodeMachineOdd: JSON that AppendJSON does not write, each read
// as json.Unmarshal reads it (most of it by json.Unmarshal itself).
func TestDecodeMachineOdd(t *testing.T) {
	const ts = `"2026-11-21T07:45:01.123456789Z"`
	for name, in := range map[string]string{
		"empty":                  ``,
		"null":                   `null`,
		"empty object":           `{}`,
		"array":                  `[]`,
		"string":                 `"x"`,
		"whitespace":             ` {"key":"k"} `,
		"whitespace inside":      `{"key": "k"}`,
		"trailing comma":         `{"key":"k",}`,
		"leading comma":          `{,"key":"k"}`,
		"trailing bytes":         `{"key":"k"}x`,
		"two objects":            `{"key":"k"}{"key":"j"}`,
		"truncated":              `{"key":"k"`,
		"truncated string":       `{"key":"k`,
		"unknown key":            `{"key":"k","colour":"red"}`,
		"unknown key only":       `{"colour":"red"}`,
		"duplicate key":          `{"key":"k","key":"j"}`,
		"reordered keys":         `{"mac":"m","key":"k"}`,
		"upper case key":         `{"KEY":"k"}`,
		"escape":                 `{"key":"\u0041b\n"}`,
		"escaped quote":          `{"key":"a\"b"}`,
		"utf-8":                  `{"key":"é"}`,
		"invalid utf-8":          "{\"key\":\"\xff\"}",
		"control":                "{\"key\":\"a\tb\"}",
		"del":                    "{\"key\":\"a\x7fb\"}",
		"number as key":          `{"key":1}`,
		"null key":               `{"key":null}`,
		"bool key":               `{"key":true}`,
		"null hardware":          `{"key":"k","hardware":null}`,
		"empty hardware":         `{"key":"k","hardware":{}}`,
		"hardware unknown":       `{"key":"k","hardware":{"cpu":"x"}}`,
		"hardware reordered":     `{"key":"k","hardware":{"arch":"x","serial":"s"}}`,
		"hardware array":         `{"key":"k","hardware":[]}`,
		"null events":            `{"key":"k","events":null}`,
		"empty events":           `{"key":"k","events":[]}`,
		"empty event":            `{"key":"k","events":[{}]}`,
		"event trailing comma":   `{"key":"k","events":[{},]}`,
		"event hardware":         `{"key":"k","events":[{"endpoint":"/ipxe","hardware":{"arch":"x"}}]}`,
		"event not object":       `{"key":"k","events":[1]}`,
		"events object":          `{"key":"k","events":{}}`,
		"empty changes":          `{"key":"k","changes":[]}`,
		"change":                 `{"key":"k","changes":[{"time":` + ts + `,"from":"booting","to":"configured","cause":"/ignition"}]}`,
		"change reordered":       `{"key":"k","changes":[{"to":"configured","time":` + ts + `}]}`,
		"status":                 `{"events":[{"status":200}]}`,
		"status zero":            `{"events":[{"status":0}]}`,
		"status minus zero":      `{"events":[{"status":-0}]}`,
		"status negative":        `{"events":[{"status":-404}]}`,
		"status leading zero":    `{"events":[{"status":0200}]}`,
		"status minus":           `{"events":[{"status":-}]}`,
		"status float":           `{"events":[{"status":200.0}]}`,
		"status exponent":        `{"events":[{"status":2e2}]}`,
		"status 18 digits":       `{"events":[{"status":999999999999999999}]}`,
		"status 19 digits":       `{"events":[{"status":9223372036854775807}]}`,
		"status overflow":        `{"events":[{"status":9223372036854775808}]}`,
		"status string":          `{"events":[{"status":"200"}]}`,
		"local boot false":       `{"events":[{"local_boot":false}]}`,
		"local boot true":        `{"events":[{"local_boot":true}]}`,
		"local boot null":        `{"events":[{"local_boot":null}]}`,
		"local boot number":      `{"events":[{"local_boot":1}]}`,
		"local boot truncated":   `{"events":[{"local_boot":tru}]}`,
		"time":                   `{"first_seen":` + ts + `}`,
		"time no fraction":       `{"first_seen":"2026-11-21T07:45:01Z"}`,
		"time one digit":         `{"first_seen":"2026-11-21T07:45:01.1Z"}`,
		"time trailing zeros":    `{"first_seen":"2026-11-21T07:45:01.100Z"}`,
		"time ten digits":        `{"first_seen":"2026-11-21T07:45:01.1234567891Z"}`,
		"time dot only":          `{"first_seen":"2026-11-21T07:45:01.Z"}`,
		"time comma":             `{"first_seen":"2026-11-21T07:45:01,5Z"}`,
		"time offset":            `{"first_seen":"2026-11-21T07:45:01+01:00"}`,
		"time zero offset":       `{"first_seen":"2026-11-21T07:45:01+00:00"}`,
		"time negative offset":   `{"first_seen":"2026-11-21T07:45:01.5-07:00"}`,
		"time lower z":           `{"first_seen":"2026-11-21T07:45:01z"}`,
		"time lower t":           `{"first_seen":"2026-11-21t07:45:01Z"}`,
		"time space":             `{"first_seen":"2026-11-21 07:45:01Z"}`,
		"time null":              `{"first_seen":null}`,
		"time number":            `{"first_seen":0}`,
		"time empty":             `{"first_seen":""}`,
		"time escaped":           `{"first_seen":"2026-11-21T07:45:01\u005a"}`,
		"time february 29":       `{"first_seen":"2023-02-29T07:45:01Z"}`,
		"time leap february 29":  `{"first_seen":"2024-02-29T07:45:01Z"}`,
		"time 1900 february 29":  `{"first_seen":"1900-02-29T07:45:01Z"}`,
		"time 2000 february 29":  `{"first_seen":"2000-02-29T07:45:01Z"}`,
		"time april 31":          `{"first_seen":"2026-04-31T07:45:01Z"}`,
		"time month 13":          `{"first_seen":"2026-13-01T07:45:01Z"}`,
		"time month 0":           `{"first_seen":"2026-00-01T07:45:01Z"}`,
		"time day 0":             `{"first_seen":"2026-01-00T07:45:01Z"}`,
		"time hour 24":           `{"first_seen":"2026-01-01T24:00:00Z"}`,
		"time minute 60":         `{"first_seen":"2026-01-01T23:60:00Z"}`,
		"time second 60":         `{"first_seen":"2026-12-31T23:59:60Z"}`,
		"time year 0":            `{"first_seen":"0000-01-01T00:00:00Z"}`,
		"time year 9999":         `{"first_seen":"9999-12-31T23:59:59.999999999Z"}`,
		"time five digit year":   `{"first_seen":"10000-01-01T00:00:00Z"}`,
		"time negative year":     `{"first_seen":"-001-01-01T00:00:00Z"}`,
		"time one digit hour":    `{"first_seen":"2026-01-01T7:45:01Z"}`,
		"time signed field":      `{"first_seen":"2026-+1-01T07:45:01Z"}`,
		"time date only":         `{"first_seen":"2026-01-01"}`,
		"last offset":            `{"events":[{"last":"2026-11-21T07:45:01-02:00"}]}`,
		"change time offset":     `{"changes":[{"time":"2026-11-21T07:45:01+05:30"}]}`,
		"all keys":               `{"key":"k","mac":"m","uuid":"u","first_seen":` + ts + `,"last_seen":` + ts + `,"last_endpoint":"/ipxe","group":"g","profile":"p","state":"booting","hardware":{"serial":"s","manufacturer":"m","product":"p","platform":"efi","arch":"arm64"},"events":[{"time":` + ts + `,"endpoint":"/ipxe","group":"g","profile":"p","remote":"r","status":200,"local_boot":true,"state":"booting","cause":"c","repeats":3,"last":` + ts + `}],"changes":[{"time":` + ts + `,"from":"discovered","to":"booting","cause":"/ipxe"}]}`,
		"empty strings":          `{"key":"","mac":"","uuid":"","last_endpoint":"","group":"","profile":"","state":""}`,
		"many events":            `{"key":"k","events":[` + strings.Repeat(`{"endpoint":"/ipxe","status":200},`, 40) + `{}]}`,
		"many changes":           `{"key":"k","changes":[` + strings.Repeat(`{"to":"booting","cause":"/ipxe"},`, 70) + `{}]}`,
		"string repeated":        `{"key":"a","mac":"a","last_endpoint":"a","group":"a","profile":"a","state":"a"}`,
		"nine repeated strings":  `{"key":"a","mac":"b","last_endpoint":"c","group":"d","profile":"e","state":"f","events":[{"endpoint":"g","group":"h","profile":"i","state":"j","cause":"a"},{"endpoint":"b","cause":"i"}]}`,
		"type error then fields": `{"key":1,"mac":"m","events":[{"status":"x","endpoint":"/ipxe"}]}`,
	} {
		t.Run(name, func(t *testing.T) { checkDecode(t, []byte(in)) })
	}
}

// TestDecodeMachineFastPath: the forms AppendJSON writes are read without
// encoding/json (else the fast path has quietly stopped being used),
// and a few near them are not.
func TestDecodeMachineFastPath(t *testing.T) {
	const ts = `"2026-11-21T07:45:01.123456789Z"`
	for in, want := range map[string]bool{
		`{"key":"k","first_seen":` + ts + `,"last_seen":"2026-11-21T07:45:01Z","last_endpoint":"/ipxe","state":"booting"}`:   true,
		`{"key":"k","hardware":{"arch":"x86_64"},"events":[{"time":` + ts + `,"endpoint":"/ipxe","status":-1,"repeats":0}]}`: true,
		`{}`:                      true,
		`{"key":"k","events":[]}`: true,
		`{"key":"k","first_seen":"2026-11-21T07:45:01+00:00"}`: false,
		`{"key":"k","mac":"\u0041"}`:                           false,
		`{"key":"k","colour":"red"}`:                           false,
		`{"key":"k"} `:                                         false,
		`{"key":"k","events":null}`:                            false,
	} {
		if got := fast([]byte(in)); got != want {
			t.Errorf("%s: fast path %v, want %v", in, got, want)
		}
	}
}

// TestDecodeMachineOwnStrings: the decoded strings are the machine's own,
// not views of the input (a store's input is its mapped file).
func TestDecodeMachineOwnStrings(t *testing.T) {
	b := []byte(`{"key":"k","mac":"k","last_endpoint":"/ipxe","events":[{"endpoint":"/ipxe","remote":"r"}]}`)
	m, err := DecodeMachine(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		if b[i] >= 'a' && b[i] <= 'z' || b[i] == '/' {
			b[i] = 'X'
		}
	}
	if m.Key != "k" || m.MAC != "k" || m.LastEndpoint != "/ipxe" || m.Events[0].Endpoint != "/ipxe" || m.Events[0].Remote != "r" {
		t.Errorf("the machine changed with its input: %+v", m)
	}
}

// FuzzDecodeMachine: for any input, DecodeMachine gives what
// json.Unmarshal gives into a zero Machine, error text included.
func FuzzDecodeMachine(f *testing.F) {
	for _, m := range decodeMachines() {
		if b, err := m.AppendJSON(nil); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		`{}`, `null`, ` {"key":"k"}`, `{"key":"k","key":"j"}`, `{"mac":"m","key":"k"}`, `{"key":"\u00e9"}`,
		`{"events":[{"status":-0}]}`, `{"events":[{"status":9223372036854775808}]}`, `{"first_seen":"2026-11-21T07:45:01+01:00"}`,
		`{"first_seen":"2024-02-29T07:45:01.1234567891Z"}`, `{"hardware":{}}`, `{"events":[]}`, `{"changes":[{}]}`,
		`{"key":1,"mac":"m"}`, `{"events":[{"local_boot":false}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
	})
}

// BenchmarkDecodeMachine: a booted machine's record (16 events, 6
// changes, as a booted fleet's are), by DecodeMachine and by
// json.Unmarshal.
func BenchmarkDecodeMachine(b *testing.B) {
	ms := decodeMachines()
	m := ms[len(ms)-2]
	m.Changes = m.Changes[:6]
	data, err := m.AppendJSON(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("DecodeMachine", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeMachine(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			var m Machine
			if err := json.Unmarshal(data, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
