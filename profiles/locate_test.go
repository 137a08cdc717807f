package profiles

import (
	"errors"
	"strings"
	"testing"
)

// locateSrc has its Butane typo (enable for enabled) on line 15, column
// 7; trim markers and a range move it to another line of the output.
const locateSrc = `variant: flatcar
version: 1.0.0
{{- if .keys }}
passwd:
  users:
    - name: core
      ssh_authorized_keys:
        {{- range .keys }}
        - {{ quote . }}
        {{- end }}
{{- end }}
systemd:
  units:
    - name: {{ .unit }}
      enable: true
`

// TestLocateButaneError: a Butane error in the rendered output maps back
// to the template's line and column, whatever the data did to the lines
// above it.
func TestLocateButaneError(t *testing.T) {
	tmpl, err := Compile("worker.yaml", locateSrc, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		data         map[string]any
		renderedLine int
	}{
		{"no keys", map[string]any{"keys": []any{}, "unit": "a.service"}, 6},
		{"three keys", map[string]any{"keys": []any{"a", "b", "c"}, "unit": "a.service"}, 13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tmpl.Execute(tc.data, 0)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = ButaneToIgnition(out)
			var be *ButaneError
			if !errors.As(err, &be) || !errors.Is(err, ErrIgnition) || len(be.Problems) != 1 {
				t.Fatalf("want one Butane problem, got %v", err)
			}
			p := be.Problems[0]
			if p.Line != tc.renderedLine || p.Col != 7 || p.Path != "$.systemd.units.0.enable" || p.Message != "unused key enable" {
				t.Fatalf("problem %+v, want unused key enable at rendered %d:7", p, tc.renderedLine)
			}
			got, err := tmpl.Locate(tc.data, 0, []Position{{p.Line, p.Col}})
			if err != nil {
				t.Fatal(err)
			}
			if want := (SourcePos{Position{15, 7}, true}); got[0] != want {
				t.Errorf("located at %+v, want %+v", got[0], want)
			}
		})
	}
}

// TestLocateInsideAction: a place inside an action's output maps to the
// action, marked inexact; places in text repeated by a range map to the
// range's text.
func TestLocateInsideAction(t *testing.T) {
	src := "a: 1\nb: {{ .b }}\n{{ range .l }}- {{ . }}\n{{ end }}z: 2\n"
	tmpl, err := Compile("t", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]any{"b": "x\ny\nz", "l": []any{"p", "q"}}
	// Output: a: 1 / b: x / y / z / - p / - q / z: 2
	got, err := tmpl.Locate(data, 0, []Position{{1, 1}, {2, 4}, {3, 1}, {6, 1}, {6, 3}, {7, 1}, {9, 0}})
	if err != nil {
		t.Fatal(err)
	}
	want := []SourcePos{
		{Position{1, 1}, true},
		{Position{2, 7}, false}, // inside {{ .b }}: the action's place
		{Position{2, 7}, false},
		{Position{3, 15}, true}, // "- " of the range body
		{Position{3, 20}, false},
		{Position{4, 10}, true}, // "z: 2"
		{Position{5, 1}, true},  // past the end: the end of the source
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("place %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestLocateYAMLError: a YAML syntax error (only a line known) maps to
// the line's first non-blank byte.
func TestLocateYAMLError(t *testing.T) {
	src := "variant: flatcar\nversion: 1.0.0\n{{/* a comment\n   on two lines */}}\nstorage:\n  files:\n    - path: /x\n   bad indent: [\n"
	tmpl, err := Compile("t", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tmpl.Execute(map[string]any{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = ButaneToIgnition(out)
	var be *ButaneError
	if !errors.As(err, &be) || be.Problems[0].Line == 0 || be.Problems[0].Col != 0 || !strings.HasPrefix(be.Problems[0].Message, "YAML: ") {
		t.Fatalf("want a YAML problem with a line, got %v", err)
	}
	got, err := tmpl.Locate(map[string]any{}, 0, []Position{{be.Problems[0].Line, 0}})
	if err != nil {
		t.Fatal(err)
	}
	if d := got[0].Line - be.Problems[0].Line; d != 1 || !got[0].Exact {
		t.Errorf("rendered line %d located at %+v: want the next source line (the comment took two)", be.Problems[0].Line, got[0])
	}
}

// TestButaneUnusedKeyOnce: an unused key is an error and not a warning
// too (it was logged twice).
func TestButaneUnusedKeyOnce(t *testing.T) {
	_, warnings, err := ButaneToIgnition([]byte("variant: flatcar\nversion: 1.0.0\nstorage:\n  filez: []\n"))
	if err == nil || !strings.Contains(err.Error(), "error at $.storage.filez, line 4 col 3: unused key filez") {
		t.Fatalf("err = %v", err)
	}
	if len(warnings) != 0 {
		t.Errorf("the error is a warning too: %v", warnings)
	}
}

func TestParseExecError(t *testing.T) {
	tmpl, err := Compile("worker.yaml", "a: 1\nb: {{ .request.query.x }}\nc: {{ .cabnet | quote }}\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		data  map[string]any
		want  ExecError
		top   string
		where string
	}{
		{map[string]any{"request": map[string]any{"query": map[string]any{}}}, ExecError{Position: Position{2, 15}, MissingKey: "x", Field: ".request.query.x"}, "request", "query"},
		{map[string]any{"request": map[string]any{"query": map[string]any{"x": "1"}}}, ExecError{Position: Position{3, 7}, MissingKey: "cabnet", Field: ".cabnet"}, "cabnet", "cabnet"},
	} {
		_, err := tmpl.Execute(tc.data, 0)
		e, ok := ParseExecError(err)
		if !ok || e.Position != tc.want.Position || e.MissingKey != tc.want.MissingKey || e.Field != tc.want.Field || TopLevelKey(e.Field) != tc.top {
			t.Errorf("%v: parsed %+v (top %q), want %+v", err, e, TopLevelKey(e.Field), tc.want)
		}
	}
	if _, ok := ParseExecError(errors.New("template output too large")); ok {
		t.Error("an error without a place parsed")
	}
}

// FuzzLocate: any template and any data (markers in the data included)
// map every place to a place inside the source, without a panic.
func FuzzLocate(f *testing.F) {
	f.Add(locateSrc, "x\ny", 3, 4)
	f.Add("a: {{ .v }}\n{{ range .l }}- {{ . }}\n{{ end }}", "\x1e5t\x1f\n\x1e-7a\x1f", 2, 1)
	f.Add("{{ define \"t\" }}x{{ .v }}\n{{ end }}{{ template \"t\" . }}{{ template \"t\" . }}", "\x1e99999999999t\x1f", 1, 0)
	f.Fuzz(func(t *testing.T, src, v string, line, col int) {
		tmpl, err := Compile("t", src, nil)
		if err != nil {
			return
		}
		data := map[string]any{"v": v, "l": []any{v, "b"}, "keys": []any{v}, "unit": v}
		if _, err := tmpl.Execute(data, 1<<16); err != nil {
			return
		}
		got, err := tmpl.Locate(data, 0, []Position{{line, col}, {1, 1}})
		if err != nil {
			return
		}
		lines := strings.Count(src, "\n") + 1
		for _, p := range got {
			if p.Line < 1 || p.Line > lines || p.Col < 1 {
				t.Fatalf("place %+v outside the source of %d lines", p, lines)
			}
		}
	})
}

func TestDotIsRoot(t *testing.T) {
	src := "{{ .a }}\n{{ range .l }}{{ .b }}{{ else }}{{ .c }}{{ end }}\n{{ with .w }}{{ .d }}{{ end }}{{ if .i }}{{ .e.f }}{{ end }}\n{{ define \"t\" }}{{ .g }}{{ end }}"
	tmpl, err := Compile("t0", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		needle      string // the field, after what precedes it
		root, found bool
	}{
		{"{{ .a", true, true}, {"range .l", true, true}, {"{{ .b", false, true}, {"{{ .c", true, true},
		{"with .w", true, true}, {"{{ .d", false, true}, {"{{ .e.f", true, true}, {"{{ .g", false, false},
	} {
		i := strings.Index(src, tc.needle) + strings.Index(tc.needle, ".")
		if tc.needle == "{{ .e.f" {
			i += 2 // a chain is placed at its second field
		}
		root, found := tmpl.DotIsRoot(positionAt(src, i))
		if root != tc.root || found != tc.found {
			t.Errorf("%s: root %v found %v, want %v %v", tc.needle, root, found, tc.root, tc.found)
		}
	}
}
