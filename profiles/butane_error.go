package profiles

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/coreos/vcontext/report"
)

// ButaneError is a Butane config that does not translate: every problem
// Butane found, each at its place in the text it was given. It wraps
// ErrIgnition. For a rendered template, that text is the rendered output:
// Template.Locate maps the places back to the template's source.
type ButaneError struct {
	Problems []ButaneProblem
}

func (e *ButaneError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return ErrIgnition.Error() + ": butane: " + strings.Join(parts, "; ")
}

func (e *ButaneError) Unwrap() error { return ErrIgnition }

// ButaneProblem is one finding of Butane (or of the YAML parser under it).
type ButaneProblem struct {
	// Kind is "error" or "warning".
	Kind string
	// Line and Col are its place in the translated text, from 1: both 0
	// when Butane gave no place, Col 0 when only the line is known (YAML
	// syntax errors).
	Line, Col int
	// Path is the field ("$.systemd.units.0.enable"), or "".
	Path    string
	Message string
}

// String formats p as Butane does: "error at $.storage.filez, line 4 col 3:
// unused key filez".
func (p ButaneProblem) String() string {
	if p.Kind == "" {
		return p.Message
	}
	var at []string
	if p.Path != "" {
		at = append(at, p.Path)
	}
	switch {
	case p.Line > 0 && p.Col > 0:
		at = append(at, "line "+strconv.Itoa(p.Line)+" col "+strconv.Itoa(p.Col))
	case p.Line > 0:
		at = append(at, "line "+strconv.Itoa(p.Line))
	}
	if len(at) == 0 {
		return p.Kind + ": " + p.Message
	}
	return p.Kind + " at " + strings.Join(at, ", ") + ": " + p.Message
}

// Describe is p without its place: the message and, when known, the
// field ("unused key enable (at $.systemd.units.0.enable)").
func (p ButaneProblem) Describe() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Message + " (at " + p.Path + ")"
}

func problemOf(e report.Entry) ButaneProblem {
	p := ButaneProblem{Kind: e.Kind.String(), Message: e.Message}
	if e.Context.Len() != 0 {
		p.Path = e.Context.String()
	}
	if e.Marker.StartP != nil {
		p.Line, p.Col = int(e.Marker.StartP.Line), int(e.Marker.StartP.Column)
	}
	return p
}

// yamlLine finds the line in a YAML parser error ("yaml: line 4: did not
// find expected '-' indicator").
var yamlLine = regexp.MustCompile(`yaml: line (\d+): `)

// yamlProblem is a translation error without report entries: YAML that
// does not parse (with its line), an unknown variant or version.
func yamlProblem(err error) ButaneProblem {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatchIndex(msg); m != nil {
		line, _ := strconv.Atoi(msg[m[2]:m[3]])
		return ButaneProblem{Kind: "error", Line: line, Message: "YAML: " + msg[m[1]:]}
	}
	return ButaneProblem{Kind: "error", Message: msg}
}
