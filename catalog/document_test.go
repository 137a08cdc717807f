package catalog

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/provisiond/provisiond/groups"
)

// TestDocumentRoundTrip: a catalog written as a Document and decoded again
// is the same catalog, and compiles.
func TestDocumentRoundTrip(t *testing.T) {
	c, err := LoadDir(writeDir(t, base()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c.Document())
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeDocument(b)
	if err != nil {
		t.Fatal(err)
	}
	if ch := Diff(c, back); !ch.Empty() {
		t.Errorf("round trip changed %+v", ch)
	}
	if _, _, err := Compile(back, nil, Options{}); err != nil {
		t.Errorf("decoded document does not compile: %v", err)
	}
}

func TestDecodeDocumentErrors(t *testing.T) {
	for _, tc := range []struct {
		name, doc, field string
		is               error
	}{
		{"unknown top-level field", `{"group":[]}`, "", nil},
		{"trailing data", `{} {}`, "", nil},
		{"bad group", `{"groups":[{"id":"a","profile":"p"},{"id":"b","profile":"p","selector":{"n":1}}]}`, "groups[1]", groups.ErrInvalid},
		{"duplicate id", `{"profiles":[{"id":"p","boot":{}},{"id":"p","boot":{}}]}`, "profiles[1]", ErrInvalid},
		{"unknown template kind", `{"templates":{"kickstart":{"a":"b"}}}`, "templates.kickstart", ErrInvalid},
		{"bad machine", `{"machines":[{"name":"m"}]}`, "machines[0]", ErrInvalidMachine},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeDocument([]byte(tc.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			var de *DocumentError
			if tc.field != "" && (!errors.As(err, &de) || de.Field != tc.field) {
				t.Errorf("err %v, want field %s", err, tc.field)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err %v is not %v", err, tc.is)
			}
		})
	}
}

func TestDiffAndMerge(t *testing.T) {
	a, err := LoadDir(writeDir(t, base()))
	if err != nil {
		t.Fatal(err)
	}
	b := a.Clone()
	part := New()
	part.Groups["a"] = &groups.Group{ID: "a", Profile: "p", Selector: groups.SelectorOf(map[string]string{"role": "changed"})}
	part.Groups["new"] = &groups.Group{ID: "new", Profile: "p"}
	part.Templates["generic"]["n.txt"] = "n"
	b.Merge(part)
	delete(b.Machines, "m2")
	got := Diff(a, b)
	want := Changes{Created: []string{"generic/n.txt", "groups/new"}, Updated: []string{"groups/a"}, Deleted: []string{"machines/m2"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Diff = %+v, want %+v", got, want)
	}
	if _, ok := b.Sources.Get("groups/a"); ok {
		t.Errorf("Merge kept the file source of a replaced object")
	}
	if !Diff(nil, nil).Empty() || len(Diff(nil, a).Created) == 0 {
		t.Errorf("Diff with nil catalogs")
	}
}

// FuzzDecodeDocument: no input panics, and whatever decodes round-trips.
func FuzzDecodeDocument(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"profiles":[{"id":"p","boot":{"kernel":"/k"}}],"groups":[{"id":"g","profile":"p","selector":{"MAC":"52-54-00-00-00-01"}}]}`,
		`{"pools":[{"name":"n","cidr":"10.0.0.0/24","start":"10.0.0.10","end":"10.0.0.20"}],"machines":[{"name":"m","mac":"52:54:00:00:00:01","leases":{"n":"10.0.0.10"}}]}`,
		`{"templates":{"ignition":{"a.yaml":"variant: flatcar\nversion: 1.0.0\n"}}}`,
		`{"groups":[{"id":"g","profile":"p","selector":{"n":null}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeDocument(data)
		if err != nil {
			return
		}
		b, err := json.Marshal(c.Document())
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeDocument(b)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		if ch := Diff(c, back); !ch.Empty() {
			t.Fatalf("round trip changed %+v", ch)
		}
	})
}
