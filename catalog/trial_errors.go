package catalog

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/provisiond/provisiond/profiles"
)

// SourceError is a mistake at a place in a catalog file: a template that
// does not render, or whose Butane does not translate, with the data of a
// group. It wraps ErrInvalid and its cause (profiles.ErrIgnition, ...).
type SourceError struct {
	File string
	// Line and Col are the place in File, from 1; 0 when unknown.
	Line, Col int
	Message   string
	// Group is the group whose data the template was rendered with, ""
	// for a template checked on its own.
	Group string
	// Rendered is the place in the output where Butane found the mistake
	// (zero for a template error), and Excerpt that output line when the
	// place is inside an action's output rather than the template's text.
	Rendered profiles.Position
	Excerpt  string
	Err      error
}

func (e *SourceError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	b.WriteString(e.Message)
	if e.Rendered.Line > 0 {
		fmt.Fprintf(&b, " (Butane, line %d col %d", e.Rendered.Line, e.Rendered.Col)
		if e.Group != "" {
			b.WriteString(" of the output rendered for group " + e.Group)
			if e.Excerpt != "" {
				fmt.Fprintf(&b, ": %q", e.Excerpt)
			}
		}
		b.WriteString(")")
	} else if e.Group != "" && !strings.Contains(e.Message, "group "+e.Group+" ") {
		b.WriteString(" (rendered for group " + e.Group + ")")
	}
	return b.String()
}

func (e *SourceError) Unwrap() []error { return []error{ErrInvalid, e.Err} }

// translateErrors describes a failed translation of out, the output of
// template t (file src) rendered with data for group ("" for a template
// translated as it is), one error per Butane problem, each at its place in
// src. Errors that are not Butane's are returned as they are.
func (s *Snapshot) translateErrors(src, group string, t *profiles.Template, data any, out []byte, err error) error {
	var be *profiles.ButaneError
	if !errors.As(err, &be) {
		if group != "" {
			return fmt.Errorf("%w: %s (rendered for group %s): %w", ErrInvalid, src, group, err)
		}
		return fmt.Errorf("%w: %s: %w", ErrInvalid, src, err)
	}
	var at []profiles.Position
	for _, p := range be.Problems {
		at = append(at, profiles.Position{Line: p.Line, Col: p.Col})
	}
	var located []profiles.SourcePos
	if t != nil && group != "" {
		located, _ = t.Locate(data, s.renderTimeout, at) // nil on failure: the output's places are shown
	}
	lines := strings.Split(string(out), "\n")
	var errs []error
	for i, p := range be.Problems {
		e := &SourceError{File: src, Line: p.Line, Col: p.Col, Message: p.Describe(), Group: group, Rendered: at[i], Err: profiles.ErrIgnition}
		if p.Line == 0 {
			e.Rendered = profiles.Position{}
		}
		if located != nil && p.Line > 0 {
			e.Line, e.Col = located[i].Line, located[i].Col
			if !located[i].Exact && p.Line <= len(lines) {
				e.Excerpt = excerpt(lines[p.Line-1])
			}
		}
		if e.Col == 0 && e.Line > 0 {
			e.Col = 1
		}
		if e.Rendered.Line > 0 && e.Rendered.Col == 0 {
			e.Rendered.Col = 1
		}
		errs = append(errs, e)
	}
	return joinProblems(errs...)
}

// atRequest describes a translation that failed at request time (of
// template t, named ref, rendered with data for group) as the trial
// renders do at load: at the template's line and column, Butane's place
// in the output beside it. It wraps err, not ErrInvalid: the request's
// data may be at fault rather than the catalog.
func (s *Snapshot) atRequest(ref, group string, t *profiles.Template, data any, out []byte, err error) error {
	var be *profiles.ButaneError
	if !errors.As(err, &be) {
		return fmt.Errorf("%s: %w", ref, err)
	}
	return &requestError{msg: s.translateErrors(ref, group, t, data, out, err).Error(), err: err}
}

type requestError struct {
	msg string
	err error
}

func (e *requestError) Error() string { return e.msg }
func (e *requestError) Unwrap() error { return e.err }

// problemList is several mistakes found together: each is reported, one
// a line.
type problemList []error

func (l problemList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

func (l problemList) Unwrap() []error { return l }

// joinProblems is nil for no error, the error itself for one, and a
// problemList of them all (flattened) for more.
func joinProblems(errs ...error) error {
	var l problemList
	for _, e := range errs {
		switch x := e.(type) {
		case nil:
		case problemList:
			l = append(l, x...)
		default:
			l = append(l, e)
		}
	}
	switch len(l) {
	case 0:
		return nil
	case 1:
		return l[0]
	}
	return l
}

func excerpt(line string) string {
	line = strings.TrimSpace(line)
	if len(line) > 80 {
		line = line[:77] + "..."
	}
	return line
}

// renderFailure sorts a failed trial render of template t (named name, in
// file src; boot fields have no place of their own in src) with data for
// group: a render that exceeds a limit, or that asks for a key that the
// group does not provide, is an error; any other failure may be for want of
// request data and is a warning.
//
// Only keys under .request may wait for request time. Every other key comes
// from the group (metadata, selector) or from provisiond (.machine,
// .server, and .ip for groups with a pool), so a render that misses one
// fails for every machine of the group. The exceptions are .machine.labels,
// which differ from machine to machine, and fields of a dot that a range or
// with rebound, or of a variable: what they stand for is not known here.
func renderFailure(src, name string, inFile bool, group string, t *profiles.Template, err error) (warning string, problem error) {
	place := src
	if !inFile {
		place = src + ": " + name
	}
	if isLimit(err) {
		return "", fmt.Errorf("%w: %s (for group %s): %w", ErrInvalid, place, group, err)
	}
	e, ok := profiles.ParseExecError(err)
	if !ok {
		return fmt.Sprintf("%s: not checked for group %s at load, it needs request data: %v", place, group, firstLine(err.Error())), nil
	}
	if inFile {
		place = fmt.Sprintf("%s:%d:%d", src, e.Line, e.Col)
	}
	if msg := missingKeyMessage(name, group, t, e); msg != "" {
		se := &SourceError{File: src, Group: group, Err: err, Message: msg}
		if inFile {
			se.Line, se.Col = e.Line, e.Col
		}
		return "", se
	}
	return fmt.Sprintf("%s: not checked for group %s at load, it needs request data: %s", place, group, e.Message), nil
}

// missingKeyMessage describes a render error e of template t for group
// as a load error, or returns "" when the key may come with the request
// (see renderFailure).
func missingKeyMessage(name, group string, t *profiles.Template, e profiles.ExecError) string {
	if e.MissingKey == "" || t == nil {
		return ""
	}
	f := e.Field
	switch {
	case strings.HasPrefix(f, "$."):
		f = f[1:]
	case strings.HasPrefix(f, "."):
		if root, found := t.DotIsRoot(e.Position); !root || !found {
			return ""
		}
	default:
		return ""
	}
	path := strings.Split(f[1:], ".")
	i := slices.Index(path, e.MissingKey)
	switch {
	case i < 0 || path[0] == "request" || path[0] == "machine" && len(path) > 1 && path[1] == "labels":
		return ""
	case i == 0:
		return fmt.Sprintf("template %s uses .%s, which group %s does not provide (not in its metadata or selector); only keys under .request may wait for the request", name, path[0], group)
	}
	return fmt.Sprintf("template %s uses %s, but for group %s .%s has no key %q", name, f, group, strings.Join(path[:i], "."), e.MissingKey)
}

// butaneWarning finds Butane's place in a warning ("warning at
// $.systemd.units.0.x, line 50 col 7: ...").
var butaneWarning = regexp.MustCompile(`^(\w+) at ([^,]*), line (\d+) col (\d+): (.*)$`)

// translateWarnings names, for each Butane warning about out (template t
// rendered with data for group, from file src), its place in src.
func (s *Snapshot) translateWarnings(src, group string, t *profiles.Template, data any, ws []profiles.Warning) []string {
	var res []string
	var at []profiles.Position
	var parsed [][]string
	for _, w := range ws {
		m := butaneWarning.FindStringSubmatch(string(w))
		parsed = append(parsed, m)
		if m != nil {
			line, _ := strconv.Atoi(m[3])
			col, _ := strconv.Atoi(m[4])
			at = append(at, profiles.Position{Line: line, Col: col})
		}
	}
	var located []profiles.SourcePos
	if len(at) > 0 && t != nil && group != "" {
		located, _ = t.Locate(data, s.renderTimeout, at)
	}
	k := 0
	for i, w := range ws {
		m := parsed[i]
		switch {
		case m == nil && group != "":
			res = append(res, fmt.Sprintf("%s (for group %s): %s", src, group, w))
		case m == nil:
			res = append(res, fmt.Sprintf("%s: %s", src, w))
		case group == "" || located == nil:
			res = append(res, fmt.Sprintf("%s:%s:%s: %s (at %s)", src, m[3], m[4], m[5], m[2]))
			k++
		default:
			l := located[k]
			res = append(res, fmt.Sprintf("%s:%d:%d: %s (Butane %s at %s, line %s col %s of the output rendered for group %s)", src, l.Line, l.Col, m[5], m[1], m[2], m[3], m[4], group))
			k++
		}
	}
	return res
}
