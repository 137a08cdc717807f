package cli

import (
	"bytes"
	"testing"
)

func TestPrintStructured(t *testing.T) {
	raw := []byte(`[{"pool":"services","created":1796095419,"ratio":0.5,"pinned":true,"name":"007"}]`)
	var y bytes.Buffer
	if err := printStructured(&y, "yaml", raw); err != nil {
		t.Fatal(err)
	}
	want := "- created: 1796095419\n  name: \"007\"\n  pinned: true\n  pool: services\n  ratio: 0.5\n"
	if y.String() != want {
		t.Errorf("yaml:\n%s\nwant:\n%s", y.String(), want)
	}
	var j bytes.Buffer
	if err := printStructured(&j, "json", raw); err != nil {
		t.Fatal(err)
	}
	if want := "[\n  {\n    \"pool\": \"services\",\n    \"created\": 1796095419,\n    \"ratio\": 0.5,\n    \"pinned\": true,\n    \"name\": \"007\"\n  }\n]\n"; j.String() != want {
		t.Errorf("json:\n%s", j.String())
	}
}
