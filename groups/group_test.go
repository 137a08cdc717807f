package groups

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

// decodeTests is shared with FuzzDecodeGroup as its seed corpus.
var decodeTests = []struct {
	name    string
	json    string
	want    *Group
	wantErr string // substring of the error, which always wraps ErrInvalid
}{
	{
		name: "full",
		json: `{"id":"node1","name":"Node 1","profile":"worker",
			"selector":{"Role":"worker","MAC":"52-54-00-89-D8-10","UUID":"5B8A7C9E-0D1F-4A2B-8C3D-4E5F6A7B8C9D"},
			"metadata":{"etcd":true,"count":3},"pool":"lan"}`,
		want: &Group{ID: "node1", Name: "Node 1", Profile: "worker",
			Selector: SelectorOf(map[string]string{"role": "worker", "mac": "52:54:00:89:d8:10", "uuid": "5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8c9d"}),
			Metadata: MetadataOf(map[string]any{"etcd": true, "count": 3.0}), Pool: "lan"},
	},
	{
		name: "mac selector dot form",
		json: `{"id":"a","profile":"p","selector":{"mac":"5254.0089.D810"}}`,
		want: &Group{ID: "a", Profile: "p", Selector: SelectorOf(map[string]string{"mac": "52:54:00:89:d8:10"})},
	},
	{
		name: "default group without selector",
		json: `{"id":"default","profile":"p"}`,
		want: &Group{ID: "default", Profile: "p", Selector: SelectorOf(map[string]string{})},
	},
	{
		name: "null selector",
		json: `{"id":"default","profile":"p","selector":null}`,
		want: &Group{ID: "default", Profile: "p", Selector: SelectorOf(map[string]string{})},
	},
	{
		name: "empty string selector value",
		json: `{"id":"a","profile":"p","selector":{"role":""}}`,
		want: &Group{ID: "a", Profile: "p", Selector: SelectorOf(map[string]string{"role": ""})},
	},
	{
		name: "etcd cluster",
		json: `{"id":"etcd","profile":"services","selector":{"role":"services"},"etcd_cluster":true}`,
		want: &Group{ID: "etcd", Profile: "services", Selector: SelectorOf(map[string]string{"role": "services"}), EtcdCluster: true},
	},
	{
		name: "install once",
		json: `{"id":"install","profile":"flatcar-install","selector":{"role":"worker"},"install_once":true}`,
		want: &Group{ID: "install", Profile: "flatcar-install", Selector: SelectorOf(map[string]string{"role": "worker"}), InstallOnce: true},
	},
	{
		name: "trailing whitespace",
		json: "{\"id\":\"a\",\"profile\":\"p\"}\n\t ",
		want: &Group{ID: "a", Profile: "p", Selector: SelectorOf(map[string]string{})},
	},

	{name: "unknown field", json: `{"id":"a","profile":"p","selectors":{"role":"x"}}`, wantErr: `"selectors"`},
	{name: "install once not a bool", json: `{"id":"a","profile":"p","install_once":"yes"}`, wantErr: "install_once"},
	{name: "install once misspelled", json: `{"id":"a","profile":"p","install-once":true}`, wantErr: `"install-once"`},
	{name: "number selector value", json: `{"id":"a","profile":"p","selector":{"role":1}}`, wantErr: `selector "role"`},
	{name: "bool selector value", json: `{"id":"a","profile":"p","selector":{"etcd":true}}`, wantErr: `selector "etcd"`},
	{name: "object selector value", json: `{"id":"a","profile":"p","selector":{"os":{"name":"flatcar"}}}`, wantErr: `selector "os"`},
	{name: "array selector value", json: `{"id":"a","profile":"p","selector":{"role":["a"]}}`, wantErr: `selector "role"`},
	{name: "null selector value", json: `{"id":"a","profile":"p","selector":{"role":null}}`, wantErr: `selector "role"`},
	{name: "null selector value with space", json: `{"id":"a","profile":"p","selector":{"role": null }}`, wantErr: `selector "role"`},
	{name: "selector not an object", json: `{"id":"a","profile":"p","selector":"role=x"}`, wantErr: "invalid group"},
	{name: "missing id", json: `{"profile":"p"}`, wantErr: "id is required"},
	{name: "missing profile", json: `{"id":"a"}`, wantErr: "profile is required"},
	{name: "empty id", json: `{"id":"","profile":"p"}`, wantErr: "id is required"},
	{name: "empty selector key", json: `{"id":"a","profile":"p","selector":{"":"x"}}`, wantErr: "empty selector key"},
	{name: "selector keys differing in case", json: `{"id":"a","profile":"p","selector":{"role":"x","Role":"y"}}`, wantErr: `"role" given twice`},
	{name: "bad mac selector", json: `{"id":"a","profile":"p","selector":{"mac":"zz"}}`, wantErr: "selector mac"},
	{name: "bad uuid selector", json: `{"id":"a","profile":"p","selector":{"uuid":"zz"}}`, wantErr: "selector uuid"},
	{name: "trailing object", json: `{"id":"a","profile":"p"}{}`, wantErr: "trailing data"},
	{name: "trailing word", json: `{"id":"a","profile":"p"} x`, wantErr: "trailing data"},
	{name: "trailing bracket", json: `{"id":"a","profile":"p"}]`, wantErr: "trailing data"},
	{name: "trailing brace", json: `{"id":"a","profile":"p"}}`, wantErr: "trailing data"},
	{name: "empty input", json: ``, wantErr: "invalid group"},
	{name: "array", json: `[]`, wantErr: "invalid group"},
	{name: "truncated", json: `{"id":"a","profile":`, wantErr: "invalid group"},
}

func TestDecode(t *testing.T) {
	for _, tt := range decodeTests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Decode([]byte(tt.json))
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Decode = %+v, %v; want an ErrInvalid mentioning %q", g, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			assertGroup(t, g, tt.want)
		})
	}
}

func assertGroup(t *testing.T, got, want *Group) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.Profile != want.Profile || got.Pool != want.Pool || got.EtcdCluster != want.EtcdCluster {
		t.Errorf("group = %+v, want %+v", got, want)
	}
	if got.Selector == nil || !maps.Equal(got.Selector.Map(), want.Selector.Map()) {
		t.Errorf("selector = %#v, want %#v", got.Selector, want.Selector)
	}
	if got.Metadata.Len() != want.Metadata.Len() {
		t.Errorf("metadata = %#v, want %#v", got.Metadata, want.Metadata)
	}
	for k, v := range want.Metadata.Map() {
		if got.Metadata.Map()[k] != v {
			t.Errorf("metadata[%q] = %#v, want %#v", k, got.Metadata.Map()[k], v)
		}
	}
}

func TestDecodeWrapsParseErrors(t *testing.T) {
	_, err := Decode([]byte(`{"id":"a","profile":"p","selector":{"mac":"zz"}}`))
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrBadMAC) {
		t.Errorf("bad mac selector: %v; want ErrInvalid and ErrBadMAC", err)
	}
	_, err = Decode([]byte(`{"id":"a","profile":"p","selector":{"uuid":"zz"}}`))
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrBadUUID) {
		t.Errorf("bad uuid selector: %v; want ErrInvalid and ErrBadUUID", err)
	}
}

func TestNormalize(t *testing.T) {
	g := &Group{ID: "a", Profile: "p", Selector: SelectorOf(map[string]string{"MAC": "52-54-00-89-D8-10", "Cabinet": "One"})}
	if err := g.Normalize(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"mac": "52:54:00:89:d8:10", "cabinet": "One"}
	if !maps.Equal(g.Selector.Map(), want) {
		t.Fatalf("selector = %v, want %v", g.Selector, want)
	}
	// Idempotent.
	if err := g.Normalize(); err != nil || !maps.Equal(g.Selector.Map(), want) {
		t.Fatalf("second Normalize = %v, selector %v", err, g.Selector)
	}
	// A nil selector becomes an empty one.
	d := &Group{ID: "d", Profile: "p"}
	if err := d.Normalize(); err != nil || d.Selector == nil || len(d.Selector) != 0 {
		t.Fatalf("default group: %v, selector %#v", err, d.Selector)
	}
}

func TestSelectorString(t *testing.T) {
	tests := []struct {
		sel  map[string]string
		want string
	}{
		{nil, ""},
		{map[string]string{}, ""},
		{map[string]string{"role": "worker"}, "role=worker"},
		{map[string]string{"role": "worker", "cabinet": "one"}, "cabinet=one,role=worker"},
		{map[string]string{"zone": "b", "mac": "52:54:00:89:d8:10", "arch": "x86_64"}, "arch=x86_64,mac=52:54:00:89:d8:10,zone=b"},
		// Sorted as whole "k=v" strings, like matchbox: '-' (0x2d) sorts before '=' (0x3d).
		{map[string]string{"a": "1", "a-b": "2"}, "a-b=2,a=1"},
	}
	for _, tt := range tests {
		if got := SelectorString(tt.sel); got != tt.want {
			t.Errorf("SelectorString(%v) = %q, want %q", tt.sel, got, tt.want)
		}
		g := &Group{Selector: SelectorOf(tt.sel)}
		if got := g.SelectorString(); got != tt.want {
			t.Errorf("(*Group).SelectorString(%v) = %q, want %q", tt.sel, got, tt.want)
		}
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		name string
		sel  map[string]string
		l    Labels
		want bool
	}{
		{"equal", map[string]string{"a": "b"}, Labels{"a": "b"}, true},
		{"different value", map[string]string{"a": "b"}, Labels{"a": "c"}, false},
		{"values are case-sensitive", map[string]string{"a": "b"}, Labels{"a": "B"}, false},
		{"extra labels", map[string]string{"uuid": "a"}, Labels{"uuid": "a", "mac": "b"}, true},
		{"missing label", map[string]string{"uuid": "a", "mac": "b"}, Labels{"uuid": "a"}, false},
		{"empty value needs the label", map[string]string{"role": ""}, Labels{}, false},
		{"empty value matches empty label", map[string]string{"role": ""}, Labels{"role": ""}, true},
		{"default matches nothing given", nil, nil, true},
		{"default matches anything", map[string]string{}, Labels{"a": "b"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &Group{Selector: SelectorOf(tt.sel)}
			if got := g.Matches(tt.l); got != tt.want {
				t.Errorf("Matches(%v) with selector %v = %v, want %v", tt.l, tt.sel, got, tt.want)
			}
		})
	}
}

// parseSelectorTests is shared with FuzzParseSelector as its seed corpus.
var parseSelectorTests = []struct {
	name    string
	in      string
	want    map[string]string
	wantErr bool
}{
	{"two pairs", "role=services,cabinet=one", map[string]string{"role": "services", "cabinet": "one"}, false},
	{"spaces", "  role = services ,\tcabinet=one ", map[string]string{"role": "services", "cabinet": "one"}, false},
	{"empty", "", map[string]string{}, false},
	{"blank", "   ", map[string]string{}, false},
	{"key lowercased, value kept", "Role=Services", map[string]string{"role": "Services"}, false},
	{"mac normalized", "mac=52-54-00-89-D8-10,role=worker", map[string]string{"mac": "52:54:00:89:d8:10", "role": "worker"}, false},
	{"MAC key normalized", "MAC=5254.0089.d810", map[string]string{"mac": "52:54:00:89:d8:10"}, false},
	{"uuid lowercased", "uuid=5B8A7C9E-0D1F-4A2B-8C3D-4E5F6A7B8C9D", map[string]string{"uuid": "5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8c9d"}, false},
	{"equals in value", "a=b=c", map[string]string{"a": "b=c"}, false},
	{"empty value", "role=", map[string]string{"role": ""}, false},

	{"no equals", "role", nil, true},
	{"empty key", "=services", nil, true},
	{"blank key", " =services", nil, true},
	{"trailing comma", "role=a,", nil, true},
	{"leading comma", ",role=a", nil, true},
	{"empty pair", "role=a,,b=c", nil, true},
	{"duplicate key", "role=a,role=b", nil, true},
	{"duplicate key differing in case", "role=a,ROLE=b", nil, true},
	{"bad mac", "mac=zz", nil, true},
	{"empty mac", "mac=", nil, true},
	{"bad uuid", "uuid=zz", nil, true},
}

func TestParseSelector(t *testing.T) {
	for _, tt := range parseSelectorTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSelector(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseSelector(%q) = %v, want an error", tt.in, got)
				}
				if !strings.Contains(err.Error(), "selector") {
					t.Errorf("error %q does not say it is about a selector", err)
				}
				return
			}
			if err != nil || got == nil || !maps.Equal(got.Map(), tt.want) {
				t.Fatalf("ParseSelector(%q) = %#v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseSelectorWrapsParseErrors(t *testing.T) {
	if _, err := ParseSelector("mac=zz"); !errors.Is(err, ErrBadMAC) {
		t.Errorf("mac=zz: %v, want ErrBadMAC", err)
	}
	if _, err := ParseSelector("uuid=zz"); !errors.Is(err, ErrBadUUID) {
		t.Errorf("uuid=zz: %v, want ErrBadUUID", err)
	}
}
