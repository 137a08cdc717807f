package groups

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"testing"
)

// selectorJSONSeeds are objects (and not objects) a selector or metadata
// is written as, with the characters encoding/json escapes.
var selectorJSONSeeds = []string{
	`{}`, `null`, `{"mac":"52:54:00:00:00:01"}`, `{"b":"1","a":"2","a-b":"3","a.b":"4"}`,
	`{"<k>":"a&b","é":"\u00e9","\u2028":"x\ny","bad":"\xff"}`, `{"a":"1","a":"2"}`,
	`{"a":1}`, `[1]`, `"x"`, `{"a":null}`, `{"a":{"b":[1,"2",null,true,-0.0,1e300]}}`,
}

// FuzzSelectorJSON: a Selector reads what json.Unmarshal reads into a
// map[string]string, with the same error, and writes exactly the bytes
// json.Marshal writes for that map.
func FuzzSelectorJSON(f *testing.F) {
	for _, s := range selectorJSONSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		var m map[string]string
		errMap := json.Unmarshal([]byte(data), &m)
		var s Selector
		errSel := json.Unmarshal([]byte(data), &s)
		if fmt.Sprint(errMap) != fmt.Sprint(errSel) {
			t.Fatalf("Unmarshal(%q): map error %v, Selector error %v", data, errMap, errSel)
		}
		if errMap != nil {
			return
		}
		if !reflect.DeepEqual(s.Map(), m) || !s.sorted() {
			t.Fatalf("Unmarshal(%q) = %#v, the map %#v", data, s, m)
		}
		want, _ := json.Marshal(m)
		got, err := json.Marshal(s)
		if err != nil || string(got) != string(want) {
			t.Fatalf("Marshal of %q = %s, %v; the map gives %s", data, got, err, want)
		}
		if k, ok := anyKey(m); ok {
			if v, found := s.Get(k); !found || v != m[k] {
				t.Fatalf("Get(%q) = %q, %v; want %q", k, v, found, m[k])
			}
		}
		if !s.Equal(SelectorOf(maps.Clone(m))) {
			t.Fatalf("%v is not Equal to itself", s)
		}
		if got := s.String(); got != SelectorString(m) {
			t.Fatalf("String() = %q, SelectorString %q", got, SelectorString(m))
		}
	})
}

// FuzzMetadataJSON: a Metadata reads what json.Unmarshal reads into a
// map[string]any, with the same error, and writes exactly the bytes
// json.Marshal writes for that map.
func FuzzMetadataJSON(f *testing.F) {
	for _, s := range selectorJSONSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		var m map[string]any
		errMap := json.Unmarshal([]byte(data), &m)
		var md Metadata
		errMD := json.Unmarshal([]byte(data), &md)
		if fmt.Sprint(errMap) != fmt.Sprint(errMD) {
			t.Fatalf("Unmarshal(%q): map error %v, Metadata error %v", data, errMap, errMD)
		}
		if errMap != nil {
			return
		}
		if !reflect.DeepEqual(md.Map(), m) || md.IsNil() != (m == nil) || md.Len() != len(m) {
			t.Fatalf("Unmarshal(%q) = %#v, the map %#v", data, md, m)
		}
		want, _ := json.Marshal(m)
		got, err := json.Marshal(md)
		if err != nil || string(got) != string(want) {
			t.Fatalf("Marshal of %q = %s, %v; the map gives %s", data, got, err, want)
		}
		for k, v := range m {
			if got, ok := md.Get(k); !ok || !reflect.DeepEqual(got, v) {
				t.Fatalf("Get(%q) = %v, %v; want %v", k, got, ok, v)
			}
		}
		if _, ok := md.Get("\x00absent"); ok && m["\x00absent"] == nil {
			t.Fatalf("Get of an absent key found it")
		}
	})
}

func anyKey(m map[string]string) (string, bool) {
	for k := range m {
		return k, true
	}
	return "", false
}

// TestGroupJSONAsMaps: a group marshals as it did when its selector and
// metadata were maps: the same bytes, empty ones left out.
func TestGroupJSONAsMaps(t *testing.T) {
	type mapGroup struct {
		ID          string            `json:"id"`
		Name        string            `json:"name,omitempty"`
		Profile     string            `json:"profile"`
		Selector    map[string]string `json:"selector,omitempty"`
		Metadata    map[string]any    `json:"metadata,omitempty"`
		Pool        string            `json:"pool,omitempty"`
		EtcdCluster bool              `json:"etcd_cluster,omitempty"`
		InstallOnce bool              `json:"install_once,omitempty"`
		Written     map[string]string `json:"selector_as_written,omitempty"`
	}
	for _, mg := range []mapGroup{
		{ID: "a", Profile: "p"},
		{ID: "a", Profile: "p", Selector: map[string]string{}, Metadata: map[string]any{}, Written: map[string]string{}},
		{ID: "<a&b>", Name: "n", Profile: "p", Selector: map[string]string{"mac": "52:54:00:00:00:01", "Role": "<w>"},
			Metadata: map[string]any{"z": 1.5, "a": []any{"x", nil}, "m": map[string]any{"k": "v", "b": false}, "neg": math.Copysign(0, -1), "n": json.Number("7")},
			Pool:     "lan", EtcdCluster: true, InstallOnce: true, Written: map[string]string{"MAC": "52-54-00-00-00-01"}},
	} {
		g := Group{ID: mg.ID, Name: mg.Name, Profile: mg.Profile, Selector: SelectorOf(mg.Selector), Metadata: MetadataOf(mg.Metadata),
			Pool: mg.Pool, EtcdCluster: mg.EtcdCluster, InstallOnce: mg.InstallOnce, Written: SelectorOf(mg.Written)}
		want, _ := json.Marshal(mg)
		got, err := json.Marshal(g)
		if err != nil || string(got) != string(want) {
			t.Errorf("Marshal = %s, %v; as maps %s", got, err, want)
		}
		want, _ = json.MarshalIndent(mg, "", "  ")
		got, err = json.MarshalIndent(g, "", "  ")
		if err != nil || string(got) != string(want) {
			t.Errorf("MarshalIndent = %s, %v; as maps %s", got, err, want)
		}
	}
}

// TestDecodeErrorsAsMaps: the strict decoder's errors name the fields and
// types they named when the selector and metadata were maps.
func TestDecodeErrorsAsMaps(t *testing.T) {
	for _, tt := range []struct{ json, err string }{
		{`{"id":"g","profile":"p","metadata":[1]}`, `invalid group: json: cannot unmarshal array into Go struct field .Group.metadata of type map[string]interface {}`},
		{`{"id":"i","profile":"p","selector_as_written":{"a":2}}`, `invalid group: json: cannot unmarshal number into Go struct field .Group.selector_as_written of type string`},
		{`{"id":"p","profile":"p","selector_as_written":[]}`, `invalid group: json: cannot unmarshal array into Go struct field .Group.selector_as_written of type map[string]string`},
		{`{"id":"l","profile":"p","selector":[1]}`, `invalid group: json: cannot unmarshal array into Go struct field .selector of type map[string]json.RawMessage`},
		{`[1]`, `invalid group: json: cannot unmarshal array into Go value of type struct { groups.Group; Selector map[string]json.RawMessage "json:\"selector,omitempty\"" }`},
		{`{"id":"o","profile":1}`, `invalid group: json: cannot unmarshal number into Go struct field .Group.profile of type string`},
	} {
		if _, err := Decode([]byte(tt.json)); err == nil || err.Error() != tt.err {
			t.Errorf("Decode(%s) = %v, want %s", tt.json, err, tt.err)
		}
	}
}
