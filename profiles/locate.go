package profiles

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template/parse"
	"time"
)

// Position is a place in a text: line and column from 1 (Col counts
// bytes). Col 0 means only the line is known.
type Position struct {
	Line, Col int
}

// SourcePos is a place in a template's source that a place of its output
// came from.
type SourcePos struct {
	Position
	// Exact is set when the output there is the template's own text; it
	// is unset when the output came from an action ({{ .hostname }}): the
	// place is then the action's.
	Exact bool
}

// Locate renders t with data once more, marking where each piece of
// output comes from, and maps each place of at (in the output a render of
// t with data gives) back to t's source. It is for error messages (a
// Butane error reported at "line 50 col 7" of the output is at line 61 of
// the template), so it costs a render and is called only on the error
// path. A place beyond the output maps to the source's last action or
// text. It fails only when the render does (limits included).
func (t *Template) Locate(data any, timeout time.Duration, at []Position) ([]SourcePos, error) {
	c, err := t.t.Clone()
	if err != nil {
		return nil, err
	}
	for _, d := range c.Templates() {
		if d.Tree == nil {
			continue
		}
		d.Tree = d.Tree.Copy()
		markList(d.Tree.Root, t.text)
	}
	marked := &Template{Name: t.Name, t: c, mayLoop: t.mayLoop}
	out, err := marked.ExecuteTimeout(data, 4*DefaultMaxOutput, timeout)
	if err != nil {
		return nil, err
	}
	offs := locateOffsets(out, at)
	res := make([]SourcePos, len(at))
	for i, o := range offs {
		res[i] = SourcePos{Position: positionAt(t.text, o.off), Exact: o.exact}
	}
	return res, nil
}

// Markers are put into the text nodes of a copy of the template: "\x1e",
// the source offset, 't' (the output that follows is the source text from
// that offset on) or 'a' (it is an action's output), "\x1f".
const (
	markStart = '\x1e'
	markEnd   = '\x1f'
)

func marker(off int, exact bool) []byte {
	k := byte('a')
	if exact {
		k = 't'
	}
	return append(strconv.AppendInt([]byte{markStart}, int64(off), 10), k, markEnd)
}

func markList(l *parse.ListNode, src string) {
	if l == nil {
		return
	}
	nodes := make([]parse.Node, 0, 2*len(l.Nodes))
	for _, n := range l.Nodes {
		switch x := n.(type) {
		case *parse.TextNode:
			if len(x.Text) == 0 {
				break // a range's tick (guardRanges): no source, no mark
			}
			off := int(x.Pos)
			// A text node is a piece of the source as it is (trim markers
			// only move its ends), but check rather than trust.
			exact := off+len(x.Text) <= len(src) && src[off:off+len(x.Text)] == string(x.Text)
			x.Text = append(marker(off, exact), x.Text...)
		case *parse.ActionNode, *parse.TemplateNode:
			nodes = append(nodes, &parse.TextNode{NodeType: parse.NodeText, Pos: n.Position(), Text: marker(int(n.Position()), false)})
		case *parse.IfNode:
			markList(x.List, src)
			markList(x.ElseList, src)
		case *parse.RangeNode:
			markList(x.List, src)
			markList(x.ElseList, src)
		case *parse.WithNode:
			markList(x.List, src)
			markList(x.ElseList, src)
		}
		nodes = append(nodes, n)
	}
	l.Nodes = nodes
}

type origin struct {
	off   int
	exact bool
}

// locateOffsets reads marked output and returns, for each place of at in
// the output without its markers, the source offset it came from.
func locateOffsets(marked []byte, at []Position) []origin {
	res := make([]origin, len(at))
	found := make([]bool, len(at))
	var seg origin
	since := 0 // output bytes since the last marker
	line, col := 1, 1
	record := func(last bool) {
		for i, p := range at {
			if found[i] {
				continue
			}
			c := p.Col
			if c < 1 {
				c = 1
			}
			if last || line > p.Line || line == p.Line && col >= c {
				o := seg
				if seg.exact {
					o.off += since
				}
				res[i], found[i] = o, true
			}
		}
	}
	for i := 0; i < len(marked); i++ {
		b := marked[i]
		if b == markStart {
			if j := bytes.IndexByte(marked[i:], markEnd); j > 1 {
				m := string(marked[i+1 : i+j])
				if off, err := strconv.Atoi(m[:len(m)-1]); err == nil && off >= 0 {
					seg, since = origin{off, m[len(m)-1] == 't'}, 0
					i += j
					continue
				}
			}
		}
		// A place with only a line known is its first non-blank byte.
		if b != ' ' && b != '\t' || !onlyLine(at, line) {
			record(false)
		}
		since++
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	record(true)
	return res
}

// onlyLine reports whether some place of at on line has no column.
func onlyLine(at []Position, line int) bool {
	for _, p := range at {
		if p.Line == line && p.Col == 0 {
			return true
		}
	}
	return false
}

// positionAt is the line and column (from 1) of offset off in text.
func positionAt(text string, off int) Position {
	off = max(0, min(off, len(text)))
	line := 1 + strings.Count(text[:off], "\n")
	return Position{Line: line, Col: off - strings.LastIndexByte(text[:off], '\n')}
}

// execPos finds the place text/template gives in an execution error
// ("template: worker.yaml:61:7: executing ..."): its column counts from
// 0, Position's from 1.
var execPos = regexp.MustCompile(`^template: [^:\n]*:(\d+):(\d+): `)

// ExecError describes a render error of a template, with its place in
// the source when text/template gives one.
type ExecError struct {
	Position
	// Message is the error without text/template's prefix and place:
	// `executing "worker.yaml" at <.cabnet>: map has no entry for key "cabnet"`.
	Message string
	// MissingKey is the key of a "map has no entry for key" error, and
	// Field the expression that asked for it (".cabnet", "$.request.query.x").
	MissingKey, Field string
}

var missingKey = regexp.MustCompile(`at <([^>]*)>: map has no entry for key "([^"]*)"`)

// ParseExecError describes a render error. It returns false for an error
// without text/template's place (limits, timeouts).
func ParseExecError(err error) (ExecError, bool) {
	msg := err.Error()
	m := execPos.FindStringSubmatchIndex(msg)
	if m == nil {
		return ExecError{}, false
	}
	line, _ := strconv.Atoi(msg[m[2]:m[3]])
	col, _ := strconv.Atoi(msg[m[4]:m[5]])
	e := ExecError{Position: Position{line, col + 1}, Message: msg[m[1]:]}
	if k := missingKey.FindStringSubmatch(e.Message); k != nil {
		e.Field, e.MissingKey = k[1], k[2]
	}
	return e, true
}

// TopLevelKey returns the key of the template data that a field
// expression starts from (".cabnet.x" and "$.cabnet" give "cabnet"), or
// "" for other expressions.
func TopLevelKey(field string) string {
	f := strings.TrimPrefix(field, "$")
	if !strings.HasPrefix(f, ".") {
		return ""
	}
	f = f[1:]
	if i := strings.IndexAny(f, ". "); i >= 0 {
		f = f[:i]
	}
	return f
}

// String is "line:col".
func (p Position) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }
