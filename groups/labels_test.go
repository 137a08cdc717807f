package groups

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"testing"
)

// parseMACTests is shared with FuzzParseMAC as its seed corpus.
var parseMACTests = []struct {
	name string
	in   string
	want string // "" means an error wrapping ErrBadMAC
}{
	{"colon lower", "52:54:00:89:d8:10", "52:54:00:89:d8:10"},
	{"colon upper", "52:54:00:89:D8:10", "52:54:00:89:d8:10"},
	{"colon mixed case", "52:54:0A:89:d8:Fe", "52:54:0a:89:d8:fe"},
	{"hyphen lower", "52-54-00-89-d8-10", "52:54:00:89:d8:10"},
	{"hyphen upper", "52-54-00-89-D8-10", "52:54:00:89:d8:10"},
	{"dot lower", "5254.0089.d810", "52:54:00:89:d8:10"},
	{"dot upper", "5254.0089.D810", "52:54:00:89:d8:10"},
	{"surrounding space", " 52:54:00:89:d8:10\n", "52:54:00:89:d8:10"},
	{"eui-64 colon", "02:00:5e:10:00:00:00:01", "02:00:5e:10:00:00:00:01"},
	{"eui-64 hyphen upper", "02-00-5E-10-00-00-00-01", "02:00:5e:10:00:00:00:01"},
	{"eui-64 dot", "0200.5e10.0000.0001", "02:00:5e:10:00:00:00:01"},
	{"ipoib 20 bytes colon", "00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01", "00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01"},
	{"bare hex, as net.ParseMAC accepts", "52540089D810", "52:54:00:89:d8:10"},
	{"ipoib 20 bytes dot", "0000.0000.FE80.0000.0000.0000.0200.5E10.0000.0001", "00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01"},

	{"empty", "", ""},
	{"blank", "   ", ""},
	{"garbage", "not-a-mac", ""},
	{"five bytes", "52:54:00:89:d8", ""},
	{"seven bytes", "52:54:00:89:d8:10:11", ""},
	{"trailing separator", "52:54:00:89:d8:10:", ""},
	{"leading separator", ":52:54:00:89:d8:10", ""},
	{"doubled separator", "52::54:00:89:d8:10", ""},
	{"mixed separators", "52:54-00:89:d8:10", ""},
	{"single digit group", "2:54:00:89:d8:10", ""},
	{"non-hex digit", "52:54:00:89:d8:1g", ""},
	{"dot short group", "5254.0089.d81", ""},
	{"dot extra separator", "5254.0089.d810.", ""},
	{"dot groups of two", "52.54.00.89.d8.10", ""},
	{"colon groups of four", "5254:0089:d810", ""},
	{"bare hex, odd length", "52540089d810a", ""},
	{"bare hex, seven bytes", "52540089d81011", ""},
	{"trailing word", "52:54:00:89:d8:10 extra", ""},
	{"inner space", "52:54:00 :89:d8:10", ""},
}

func TestParseMAC(t *testing.T) {
	for _, tt := range parseMACTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMAC(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrBadMAC) {
					t.Fatalf("ParseMAC(%q) = %q, %v; want an error wrapping ErrBadMAC", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseMAC(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseMACErrorTruncatesInput(t *testing.T) {
	_, err := ParseMAC(strings.Repeat("x", 10000))
	if !errors.Is(err, ErrBadMAC) {
		t.Fatalf("err = %v, want ErrBadMAC", err)
	}
	if len(err.Error()) > 200 {
		t.Errorf("error message is %d bytes long; the input should be truncated", len(err.Error()))
	}
}

// parseUUIDTests is shared with FuzzParseUUID as its seed corpus.
var parseUUIDTests = []struct {
	name string
	in   string
	want string // "" means an error wrapping ErrBadUUID
}{
	{"lower", "5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8c9d", "5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8c9d"},
	{"upper", "5B8A7C9E-0D1F-4A2B-8C3D-4E5F6A7B8C9D", "5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8c9d"},
	{"mixed case", "5b8A7c9E-0d1F-4a2B-8c3D-4e5F6a7B8c9D", "5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8c9d"},
	{"any version nibble", "00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000"},
	{"surrounding space", "\t5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8c9d ", "5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8c9d"},

	{"empty", "", ""},
	{"one short", "5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8c9", ""},
	{"one long", "5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8c9d0", ""},
	{"no dashes", "5b8a7c9e0d1f4a2b8c3d4e5f6a7b8c9d", ""},
	{"dashes shifted", "5b8a7c9e0-d1f-4a2b-8c3d-4e5f6a7b8c9d", ""},
	{"dash missing, extra hex", "5b8a7c9e-0d1f04a2b-8c3d-4e5f6a7b8c9d", ""},
	{"dash where hex belongs", "5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8c-d", ""},
	{"non-hex", "5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8c9g", ""},
	{"braces", "{5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8c9d}", ""},
	{"urn", "urn:uuid:5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8c9d", ""},
	{"underscores", "5b8a7c9e_0d1f_4a2b_8c3d_4e5f6a7b8c9d", ""},
	{"non-ascii, 36 bytes", "5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8cé", ""},
	{"kelvin sign lowercases to k", "5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8\u212a", ""},
}

func TestParseUUID(t *testing.T) {
	for _, tt := range parseUUIDTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseUUID(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrBadUUID) {
					t.Fatalf("ParseUUID(%q) = %q, %v; want an error wrapping ErrBadUUID", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseUUID(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// manyParams returns a query with n distinct parameters.
func manyParams(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("k%d=v", i)
	}
	return strings.Join(parts, "&")
}

func wantMany(n int) Labels {
	l := Labels{}
	for i := range n {
		l[fmt.Sprintf("k%d", i)] = "v"
	}
	return l
}

// fromQueryTests is shared with FuzzFromQuery as its seed corpus.
var fromQueryTests = []struct {
	name    string
	query   string // raw query string, parsed with url.ParseQuery
	want    Labels
	wantErr error
}{
	{"typical ipxe chain", "mac=52:54:00:89:d8:10&uuid=5B8A7C9E-0D1F-4A2B-8C3D-4E5F6A7B8C9D&arch=x86_64&domain=example.com",
		Labels{"mac": "52:54:00:89:d8:10", "uuid": "5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8c9d", "arch": "x86_64", "domain": "example.com"}, nil},
	{"mac hyphen", "mac=52-54-00-89-D8-10", Labels{"mac": "52:54:00:89:d8:10"}, nil},
	{"mac dot", "mac=5254.0089.D810", Labels{"mac": "52:54:00:89:d8:10"}, nil},
	{"mac colon upper", "mac=52:54:00:89:D8:10", Labels{"mac": "52:54:00:89:d8:10"}, nil},
	{"mac percent-encoded", "mac=52%3A54%3A00%3A89%3Ad8%3A10", Labels{"mac": "52:54:00:89:d8:10"}, nil},
	{"keys lowercased, values kept", "Role=Worker&CABINET=One", Labels{"role": "Worker", "cabinet": "One"}, nil},
	{"uppercase MAC key normalized", "MAC=52-54-00-89-D8-10", Labels{"mac": "52:54:00:89:d8:10"}, nil},
	{"first value kept", "role=a&role=b", Labels{"role": "a"}, nil},
	{"first mac kept, second not parsed", "mac=52:54:00:89:d8:10&mac=garbage", Labels{"mac": "52:54:00:89:d8:10"}, nil},
	{"empty mac and uuid kept empty", "mac=&uuid=&role=worker", Labels{"mac": "", "uuid": "", "role": "worker"}, nil},
	{"empty uuid beside a set UUID", "UUID=5B8A7C9E-0D1F-4A2B-8C3D-4E5F6A7B8C9D&uuid=", Labels{"uuid": "5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8c9d"}, nil},
	{"empty MAC beside a set mac", "MAC=&mac=52:54:00:89:d8:10", Labels{"mac": "52:54:00:89:d8:10"}, nil},
	{"empty other value kept", "role=", Labels{"role": ""}, nil},
	{"empty query", "", Labels{}, nil},
	{"MAC and mac both present: lowercase spelling wins", "MAC=52-54-00-89-D8-10&mac=52:54:00:89:d8:11", Labels{"mac": "52:54:00:89:d8:11"}, nil},
	{"mac and MAC both present: lowercase spelling wins", "mac=52:54:00:89:d8:11&MAC=52-54-00-89-D8-10", Labels{"mac": "52:54:00:89:d8:11"}, nil},
	{"MAC set and mac empty", "MAC=52-54-00-89-D8-10&mac=", Labels{"mac": "52:54:00:89:d8:10"}, nil},
	{"Role and ROLE: first in byte order wins", "Role=a&ROLE=b", Labels{"role": "b"}, nil},
	{"unparseable MAC beside a good mac is an error", "MAC=garbage&mac=52:54:00:89:d8:10", nil, ErrBadMAC},
	{"unparseable Mac beside a good MAC is an error", "Mac=garbage&MAC=52:54:00:89:d8:10", nil, ErrBadMAC},
	{"unparseable UUID beside a good uuid is an error", "UUID=garbage&uuid=5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8c9d", nil, ErrBadUUID},

	{"bad mac", "mac=52:54:00:89:d8&role=worker", nil, ErrBadMAC},
	{"bad mac uppercase key", "MAC=zz", nil, ErrBadMAC},
	{"bad uuid", "uuid=1234", nil, ErrBadUUID},
	{"max labels", manyParams(MaxLabels), wantMany(MaxLabels), nil},
	{"too many labels", manyParams(MaxLabels + 1), nil, ErrBadLabels},
	{"longest key", strings.Repeat("k", MaxLabelKey) + "=v", Labels{strings.Repeat("k", MaxLabelKey): "v"}, nil},
	{"key too long", strings.Repeat("k", MaxLabelKey+1) + "=v", nil, ErrBadLabels},
	{"longest value", "k=" + strings.Repeat("v", MaxLabelValue), Labels{"k": strings.Repeat("v", MaxLabelValue)}, nil},
	{"value too long", "k=" + strings.Repeat("v", MaxLabelValue+1), nil, ErrBadLabels},
	{"over-long mac", "mac=" + strings.Repeat("5", MaxLabelValue+1), nil, ErrBadLabels},
	{"newline in a key", "role%0AX=worker", nil, ErrBadLabels},
	{"newline in a value", "role=worker%0AINJECTED=1", nil, ErrBadLabels},
	{"NUL in a value", "role=a%00b", nil, ErrBadLabels},
	{"invalid UTF-8", "role=%ff%fe", nil, ErrBadLabels},
	{"invalid UTF-8 in a key", "%ff=x", nil, ErrBadLabels},
	{"invalid UTF-8 in an uppercase key", "R%ffOLE=x", nil, ErrBadLabels},
	{"UTF-8 is fine", "rack=%C3%A9t%C3%A9", Labels{"rack": "été"}, nil},
	{"spaces are fine", "hostname=a+b", Labels{"hostname": "a b"}, nil},
}

func TestFromQuery(t *testing.T) {
	for _, tt := range fromQueryTests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatalf("ParseQuery: %v", err)
			}
			// Map iteration order is random: every run must agree.
			for range 20 {
				got, err := FromQuery(q)
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("FromQuery(%q) = %v, %v; want an error wrapping %v", tt.query, got, err, tt.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("FromQuery(%q): %v", tt.query, err)
				}
				if !maps.Equal(got, tt.want) {
					t.Fatalf("FromQuery(%q) = %v, want %v", tt.query, got, tt.want)
				}
			}
		})
	}
}

func TestFromQueryNil(t *testing.T) {
	l, err := FromQuery(nil)
	if err != nil || l == nil || len(l) != 0 {
		t.Fatalf("FromQuery(nil) = %#v, %v; want an empty non-nil map", l, err)
	}
}

func TestFromQueryEmptySlice(t *testing.T) {
	l, err := FromQuery(url.Values{"role": {}, "zone": {"b"}})
	if err != nil || !maps.Equal(l, Labels{"zone": "b"}) {
		t.Fatalf("FromQuery = %v, %v; want map[zone:b]", l, err)
	}
}
