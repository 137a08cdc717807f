package profiles

import (
	"slices"
	"strings"

	baseutil "github.com/coreos/butane/base/util"
	"github.com/coreos/go-systemd/v22/unit"
	ignparse "github.com/coreos/ignition/v2/config/shared/parse"
	"gopkg.in/yaml.v3"
)

// Filling a shape with a machine's values. The shape was translated with
// sentinels, strings of letters and digits; a value may take a
// sentinel's place only if Butane cannot tell the difference except by
// copying it:
//
//   - Every value: printable ASCII, not empty, no space at either end
//     (the YAML indentation of a literal block and the folding of quoted
//     scalars look at spaces), and none of " \ < > & (which JSON would
//     escape, or end a quoted scalar).
//   - In a plain scalar, only letters, digits and . _ / - (no :, #, space
//     or flow indicator can end or start anything), the first a letter
//     or digit, and the scalar's whole text must still be a YAML string
//     (not null, true, 1e3, 0x10, a timestamp...), as the sentinel's is.
//   - In a single-quoted scalar, no '.
//   - Literal blocks and double-quoted scalars: the rules for every value.
//
// So the YAML parses to the same tree with the sentinels' text replaced
// by the values. Then a file's inline text is re-encoded with Butane's
// own MakeDataURL (which picks percent-encoding or base64 by length, so
// the whole URL changes), and a unit's text is parsed as Ignition
// validates it, which must succeed with the same sections and option
// names as the shape's, so that the unit's validation (an error if it
// does not parse, a warning if an enabled unit lost [Install]) is the
// shape's, which had none.

// fill returns the shape's output with values in it; ok is false if a
// value is not eligible.
func (s *shape) fill(values [][]byte) ([]byte, bool) {
	if len(values) != len(s.holeNode) {
		return nil, false
	}
	for i, v := range values {
		if !valueOK(v, s.holeStyle[i]) {
			return nil, false
		}
	}
	var urls []string
	size := 0
	for n := range s.nodes {
		node := &s.nodes[n]
		var b strings.Builder
		for k, p := range node.pieces {
			b.WriteString(p)
			if k < len(node.holes) {
				b.Write(values[node.holes[k]])
			}
		}
		text := b.String()
		if node.style == 0 && !plainString(text) {
			return nil, false
		}
		switch node.kind {
		case nodeUnit:
			opts, err := ignparse.ParseUnitContents(&text)
			if err != nil || !slices.Equal(unitLayout(opts), node.unit) {
				return nil, false
			}
		case nodeDataURL:
			if urls == nil {
				urls = make([]string, len(s.nodes))
			}
			uri, _, err := baseutil.MakeDataURL([]byte(text), nil, false)
			if err != nil {
				return nil, false
			}
			urls[n] = uri
			size += len(uri)
		}
	}
	for _, g := range s.segs {
		size += len(g.lit)
		if g.hole >= 0 {
			size += len(values[g.hole])
		}
	}
	out := make([]byte, 0, size)
	for _, g := range s.segs {
		out = append(out, g.lit...)
		if g.hole >= 0 {
			out = append(out, values[g.hole]...)
		}
		if g.node >= 0 {
			out = append(out, urls[g.node]...)
		}
	}
	return out, true
}

// valueOK applies the value rules above for a scalar of style.
func valueOK(v []byte, style yaml.Style) bool {
	if len(v) == 0 || v[0] == ' ' || v[len(v)-1] == ' ' {
		return false
	}
	for _, c := range v {
		if c < 0x20 || c > 0x7e {
			return false
		}
		switch c {
		case '"', '\\', '<', '>', '&':
			return false
		case '\'':
			if style == yaml.SingleQuotedStyle {
				return false
			}
		}
		if style == 0 && !plainByte(c) {
			return false
		}
	}
	if style == 0 && !alnum(v[0]) {
		return false
	}
	return true
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func plainByte(c byte) bool {
	return alnum(c) || c == '.' || c == '_' || c == '/' || c == '-'
}

// plainString reports whether a plain scalar's text is a YAML string.
// yaml.v3 (Butane's parser) resolves a plain scalar that starts with a
// letter to a string unless it is one of the words below; anything else
// is asked of yaml.v3 itself.
func plainString(text string) bool {
	if text == "" {
		return false
	}
	if c := text[0]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
		switch text {
		case "true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL":
			return false
		}
		return true
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil || len(doc.Content) != 1 {
		return false
	}
	n := doc.Content[0]
	return n.Kind == yaml.ScalarNode && n.Style == 0 && n.Tag == "!!str" && n.Value == text
}

// unitLayout is a unit's sections and option names, in order.
func unitLayout(opts []*unit.UnitOption) []string {
	l := make([]string, len(opts))
	for i, o := range opts {
		l[i] = o.Section + "\x00" + o.Name
	}
	return l
}
