package profiles

import (
	"errors"
	"testing"
	"time"
)

// FuzzTemplateBounds compiles any template text and renders what compiles
// with small output and time limits: nothing panics, and a render either
// succeeds within the output limit or fails (a limit error included).
func FuzzTemplateBounds(f *testing.F) {
	for _, s := range []string{
		`{{range 10}}x{{end}}`,
		`{{range 100000000000}}{{end}}`,
		`{{range 1000}}{{range 1000}}x{{end}}{{end}}`,
		`{{define "a"}}{{template "a"}}{{end}}{{template "a"}}`,
		`{{define "a"}}{{template "b"}}{{end}}{{define "b"}}{{template "a"}}{{end}}`,
		`{{range $i := 5}}{{$i}}{{end}}`,
		`{{ join .list "," }} {{ default "x" .missing }} {{ quote .name }}`,
		`{{ members "role=services" }}`,
		`{{ .request.query.mac }}{{ .boot_token }}`,
	} {
		f.Add(s)
	}
	data := map[string]any{"list": []any{"a", "b"}, "name": "n\x00\xff", "missing": "",
		"request": map[string]any{"query": map[string]any{"mac": "52:54:00:89:d8:10"}}, "boot_token": "t"}
	f.Fuzz(func(t *testing.T, text string) {
		tp, err := Compile("fuzz", text, func(string) ([]Member, error) { return []Member{{"name": "m"}}, nil })
		if err != nil {
			return
		}
		out, err := tp.ExecuteTimeout(data, 1<<16, 200*time.Millisecond)
		if err == nil && len(out) > 1<<16 {
			t.Fatalf("%q rendered %d bytes over the limit", text, len(out))
		}
		if errors.Is(err, ErrRenderBusy) {
			time.Sleep(50 * time.Millisecond) // let abandoned renders end
		}
	})
}
