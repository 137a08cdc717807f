package profiles

import (
	"encoding/json"
	"errors"
	"github.com/provisiond/provisiond/groups"
	"strings"
	"testing"
)

func FuzzDecodeProfile(f *testing.F) {
	for _, s := range []string{
		`{"id":"p","boot":{"kernel":"/k","initrd":["/i"],"args":["a=b"]},"ignition_id":"x.yaml"}`,
		`{"id":"p","boot":{"kernel":"{{.server.url}}/k"}}`,
		`{"id":""}`, `{"id":"p","bogus":1}`, `{"id":"p"}}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not wrapping ErrInvalid: %v", err)
			}
			return
		}
		if p.ID == "" {
			t.Fatal("decoded a profile without an id")
		}
		// What we store must decode again to the same profile.
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := Decode(b)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		if q.ID != p.ID || q.IgnitionID != p.IgnitionID || len(q.Boot.Args) != len(p.Boot.Args) {
			t.Fatalf("round trip changed the profile: %+v vs %+v", p, q)
		}
	})
}

// FuzzRenderHostileData renders the templates users write with hostile
// request data (what a client controls: query labels and the raw query).
// Rendering must never panic, the output stays within its limit, and the
// env file never gets a line the data did not have a key for.
func FuzzRenderHostileData(f *testing.F) {
	f.Add("52:54:00:89:d8:10", "hostname", "node1", "mac=52-54-00-89-d8-10&hostname=node1")
	f.Add("", "{{", "}}", "%00%ff")
	f.Add("x", "evil\nKEY", "v\nINJECTED=1", strings.Repeat("a=b&", 100))
	tmpl, err := Compile("t", `{{ .request.query.mac }} {{ range $k, $v := .request.query }}{{ $k }}={{ quote $v }} {{ end }}{{ .request.raw_query }} {{ default "none" (index .request.query "hostname") }}`, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, mac, key, value, raw string) {
		q := map[string]string{"mac": mac, key: value}
		in := Input{Query: q, RawQuery: raw, ServerURL: "http://10.0.2.2:8080", Metadata: groups.MetadataOf(map[string]any{"k": value})}
		out, err := tmpl.Execute(Data(in), 1<<16)
		if err != nil && !errors.Is(err, ErrOutputTooLarge) {
			t.Fatalf("render: %v", err)
		}
		if len(out) > 1<<16 {
			t.Fatalf("output %d bytes over the limit", len(out))
		}
		env := string(EnvFile(MetadataData(in)))
		for _, line := range strings.Split(strings.TrimSuffix(env, "\n"), "\n") {
			k, _, ok := strings.Cut(line, "=")
			if !ok || k == "" && line != "=" {
				t.Fatalf("env line %q has no KEY=", line)
			}
			if strings.ContainsAny(line, "\r") {
				t.Fatalf("env line %q carries a carriage return", line)
			}
		}
	})
}

// FuzzButane translates arbitrary Butane: never a panic, never an empty
// config with no error, and what is returned always passes CheckIgnition.
func FuzzButane(f *testing.F) {
	for _, s := range []string{
		"variant: flatcar\nversion: 1.0.0\n",
		"variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n    - path: /etc/x\n      contents:\n        inline: x\n",
		"variant: fcos\nversion: 1.6.0\npasswd:\n  users:\n    - name: core\n",
		"variant: flatcar\nversion: 1.0.0\nstorage:\n  filez: []\n",
		"---\nsystemd:\n  units: []\n", "", "{", "variant: [", "variant: flatcar\nversion: 9.9.9\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 1<<16 {
			return
		}
		out, _, err := ButaneToIgnition(src)
		if err != nil {
			if !errors.Is(err, ErrIgnition) {
				t.Fatalf("error not wrapping ErrIgnition: %v", err)
			}
			return
		}
		if _, err := CheckIgnition(out); err != nil {
			t.Fatalf("translated config does not check: %v\n%s", err, out)
		}
	})
}
