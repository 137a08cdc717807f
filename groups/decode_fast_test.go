package groups

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// fastSeeds are shapes decodeFast takes on itself, and near misses it must
// hand to the strict decoder.
var fastSeeds = []string{
	`{"id":"n1","profile":"p","selector":{"mac":"52:54:00:00:00:01"},"metadata":{"hostname":"n1","ip":"10.0.0.1","rack":3,"ok":true,"ssh":["a","b"],"none":null,"nest":{"x":{"y":[1,2.5,-0,1e3,-1.25E-2]}}}}`,
	"{\n  \"id\": \"n1\",\n  \"name\": \"Node\",\n  \"profile\": \"p\",\n  \"selector\": {\n    \"mac\": \"52:54:00:00:00:01\"\n  },\n  \"metadata\": {}\n}\n",
	`{"id":"n1","profile":"p","pool":"lan","etcd_cluster":true,"install_once":false,"selector_as_written":{"MAC":"52-54-00-00-00-01"},"selector":{"mac":"52:54:00:00:00:01"}}`,
	`{"id":"n1","profile":"p","selector":{},"metadata":{"a":[],"b":{}}}`,
	`{"id":"n1","profile":"p","ID":"n2"}`,
	`{"id":"n1","profile":"p","id":"n2"}`,
	`{"id":"n1","profile":"p","metadata":{"a":1,"a":2}}`,
	`{"id":"n1","profile":"p","selector":{"mac":"x","mac":"y"}}`,
	`{"id":"n1","profile":"p","selector":null}`,
	`{"id":"n1","profile":"p","selector":{"a":1}}`,
	`{"id":"n1","profile":"p","metadata":{"big":1e400}}`,
	`{"id":"n1","profile":"p","metadata":{"n":01}}`,
	`{"id":"n1","profile":"p","metadata":{"n":1.}}`,
	`{"id":"n\u0031","profile":"p"}`,
	`{"id":"n1","profile":"p"} x`,
	`{"id":"n1","profile":"p",}`,
	`{"id":"n1","profile":"p","metadata":{"s":"caf` + "\xc3\xa9" + `"}}`,
	`{"id":"n1","profile":"p","unknown":1}`,
	` {"id":"n1","profile":"p"} `,
	`{}`,
	``,
}

// FuzzDecodeFast: whenever decodeFast takes a group on itself, the strict
// decoder accepts it too and gives the same group; and Decode agrees with
// the strict decoder followed by Normalize, on the group or on failing.
func FuzzDecodeFast(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	for _, tt := range decodeTests {
		f.Add([]byte(tt.json))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		strict, serr := decodeStrict(data)
		if fast, ok := decodeFast(data); ok {
			if serr != nil {
				t.Fatalf("decodeFast(%q) accepted what the strict decoder refuses: %v", data, serr)
			}
			if !reflect.DeepEqual(fast, strict) {
				t.Fatalf("decodeFast(%q) = %#v, strict decoder %#v", data, fast, strict)
			}
		}
		g, err := Decode(data)
		if serr == nil {
			serr = strict.Normalize()
		}
		if (err == nil) != (serr == nil) {
			t.Fatalf("Decode(%q) error %v, strict decoder %v", data, err, serr)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode(%q): %v does not wrap ErrInvalid", data, err)
			}
			return
		}
		if !reflect.DeepEqual(g, strict) {
			t.Fatalf("Decode(%q) = %#v, strict decoder %#v", data, g, strict)
		}
	})
}

// TestDecodeFastTakesWhatIsWritten: the fast path is taken for the shapes
// a catalog holds (json.Marshal's, and an indented file), so it is what
// a load uses; and the near misses go to the strict decoder with its
// error.
func TestDecodeFastTakesWhatIsWritten(t *testing.T) {
	g := &Group{ID: "n1", Name: "Node 1", Profile: "p", Pool: "lan", InstallOnce: true,
		Selector: SelectorOf(map[string]string{"mac": "52:54:00:00:00:01"}),
		Metadata: MetadataOf(map[string]any{"hostname": "n1", "rack": 3.0, "ssh": []any{"k"}, "net": map[string]any{"gw": "10.0.0.1"}})}
	compact, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	indented, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range [][]byte{compact, indented} {
		fast, ok := decodeFast(data)
		if !ok {
			t.Fatalf("decodeFast(%s) handed it to the strict decoder", data)
		}
		if !reflect.DeepEqual(fast, g) {
			t.Fatalf("decodeFast(%s) = %#v, want %#v", data, fast, g)
		}
	}
	for _, tt := range []struct{ json, err string }{
		{`{"id":"n1","profile":"p","unknwn":1}`, `unknown field "unknwn"`},
		{`{"id":"n1","profile":"p","selector":{"a":1}}`, `selector "a": value 1 is not a string`},
		{`{"id":"n1","profile":"p"} x`, `trailing data`},
		{`{"id":"n1","profile":"p","selector":{"mac":"zz"}}`, `selector mac`},
	} {
		_, err := Decode([]byte(tt.json))
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("Decode(%s) = %v, want an ErrInvalid containing %q", tt.json, err, tt.err)
		}
	}
}
