package profiles

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// TestRangeOverVariableLimit: a range over a variable that is given an
// integer constant is held to MaxRangeIterations like a range over the
// literal, nested or not, whatever the order of the assignments; the error
// names the file and line as a parse error does. A range over data stays
// allowed (the data bounds it, the time limit stops it).
func TestRangeOverVariableLimit(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       string // "" compiles; else the start of the error
	}{
		{"variable at the limit", `{{$n := 1000}}{{range $n}}{{range $n}}{{end}}{{end}}`, ""},
		{"variable", `{{$n := 5000000}}{{range $n}}{{end}}`, "template: f.yaml:1: range over $n (up to 5000000): at most 1000000 iterations"},
		{"nested over a variable", "a\nb\n{{$n := 1001}}{{range $n}}\n{{range $n}}{{end}}{{end}}", "template: f.yaml:4: range over $n (up to 1001) inside ranges of 1001"},
		{"declared in range", `{{range $n := 5000000}}{{end}}`, "template: f.yaml:1: range over 5000000"},
		{"a variable's copy", `{{$n := 1000}}{{$m := $n}}{{range $m}}{{range 2000}}{{end}}{{end}}`, "template: f.yaml:1: range over 2000 inside ranges of 1000"},
		{"parenthesized", `{{with $n := 5000000}}{{range ($n)}}{{end}}{{end}}`, "template: f.yaml:1: range over ($n)"},
		{"assigned in a branch", `{{$n := 3}}{{if .x}}{{$n = 5000000}}{{end}}{{range $n}}{{end}}`, "template: f.yaml:1: range over $n (up to 5000000)"},
		{"assigned after, in a loop", `{{$n := 3}}{{range 10}}{{range $n}}{{end}}{{$n = 5000000}}{{end}}`, "template: f.yaml:1: range over $n (up to 5000000)"},
		{"a range's own variable", `{{range $i := 2000}}{{range $i}}{{range 1000}}{{end}}{{end}}{{end}}`, "template: f.yaml:1: range over $i (up to 2000) inside ranges of 2000"},
		{"in a define", `{{define "a"}}{{$n := 5000000}}{{range $n}}{{end}}{{end}}`, `template: f.yaml:1: range over $n (up to 5000000): at most 1000000 iterations (in {{define "a"}})`},
		{"another scope's variable", `{{if .x}}{{$n := 5000000}}{{end}}{{$n := 3}}{{range $n}}{{end}}`, ""},
		{"a variable from data", `{{$n := .x}}{{range $n}}{{end}}`, ""},
		{"a list from data", `{{$l := .list}}{{range $i, $e := $l}}{{range $l}}{{end}}{{end}}`, ""},
		{"a field of a variable", `{{$m := .m}}{{range $m.n}}{{end}}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile("f.yaml", tc.text, nil)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Compile(%q): %v, want it to compile", tc.text, err)
			case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
				t.Errorf("Compile(%q): %v, want %q...", tc.text, err, tc.want)
			}
		})
	}
}

// TestAbandonedSilentRangeStops: a range that writes nothing, over a
// number in the data (which the load check cannot bound), stops soon after
// the render is given up, rather than keeping a CPU busy until it ends
// (2^40 iterations: hours).
func TestAbandonedSilentRangeStops(t *testing.T) {
	for name, text := range map[string]string{
		"empty body":     `{{range .n}}{{end}}`,
		"nested, silent": `{{range .n}}{{range 10}}{{if false}}x{{end}}{{end}}{{end}}`,
		"in a define":    `{{define "spin"}}{{range .n}}{{end}}{{end}}{{template "spin" .}}`,
	} {
		t.Run(name, func(t *testing.T) {
			tp, err := Compile(name, text, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tp.ExecuteTimeout(map[string]any{"n": math.MaxInt}, 0, 20*time.Millisecond)
			if !errors.Is(err, ErrRenderTimeout) {
				t.Fatalf("%v, want ErrRenderTimeout", err)
			}
			// Generous on a busy machine; without the fix it never ends.
			deadline := time.Now().Add(30 * time.Second)
			for AbandonedRenders() != 0 {
				if time.Now().After(deadline) {
					t.Fatalf("the abandoned render still runs (%d abandoned)", AbandonedRenders())
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	// The guard changes no output.
	tp, err := Compile("out", `{{range .l}}<{{.}}>{{else}}none{{end}}{{range 3}}{{.}}{{end}}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		l    []int
		want string
	}{{[]int{1, 2}, "<1><2>012"}, {nil, "none012"}} {
		out, err := tp.ExecuteTimeout(map[string]any{"l": tc.l}, 0, 0)
		if err != nil || string(out) != tc.want {
			t.Errorf("render with %v: %q %v, want %q", tc.l, out, err, tc.want)
		}
	}
}
