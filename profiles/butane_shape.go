package profiles

import (
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	baseutil "github.com/coreos/butane/base/util"
	ignparse "github.com/coreos/ignition/v2/config/shared/parse"
	"gopkg.in/yaml.v3"
)

// Building a shape: the key's pieces are joined with sentinel values and
// translated, twice, with two sentinel sets of different lengths. A shape
// is kept only if all of this holds (otherwise it is kept as not eligible
// and its machines take the slow path):
//
//   - No piece contains a sentinel's prefix, so every sentinel in the
//     source is a hole.
//   - The source's first YAML document has no anchor, alias or merge key
//     (a value could be copied to places the output search below would
//     not know), its variant and version are in fastVersions, and each
//     hole is inside exactly one scalar that is a mapping value at one of:
//     storage.files[].contents.inline, storage.files[].append[].inline
//     (Butane makes a data URL of the text: MakeDataURL, whose result
//     depends on the text only, as compression is off, see
//     fastTranslateAllowed), systemd.units[].contents or
//     systemd.units[].dropins[].contents (copied into the JSON as it is;
//     Ignition parses it as a unit, which fill repeats). No other field is
//     eligible: paths, names, URLs, users and inline Ignition configs are
//     validated or transformed in ways a value could change. The scalar
//     is plain, single-quoted, double-quoted or literal (|), untagged.
//   - Both translations succeed with no warning and produce Ignition JSON.
//   - Each hole-bearing scalar's output (json.Marshal of its text for a
//     unit, the quoted MakeDataURL of its text for a file) occurs exactly
//     once in the output, and no sentinel occurs outside those places.
//   - Cut at those places (and, in unit text, at the sentinels), both
//     outputs give the same literal pieces: nothing else depends on the
//     values or their length.
type shape struct {
	nodes []fastNode
	// holeNode and holeStyle give each hole's scalar and its YAML style.
	holeNode  []int
	holeStyle []yaml.Style
	segs      []outSeg
}

type nodeKind int

const (
	nodeDataURL nodeKind = iota // a file's inline contents
	nodeUnit                    // a unit's or dropin's contents
)

// fastNode is a scalar with holes: its text is pieces[0] hole[0]
// pieces[1] ... pieces[n].
type fastNode struct {
	kind   nodeKind
	style  yaml.Style
	pieces []string
	holes  []int
	// unit is the (section, option name) sequence of the shape's unit
	// text, for nodeUnit.
	unit []string
}

// outSeg is a piece of the output: literal text, then a hole's value
// (hole >= 0) or a node's data URL (node >= 0), or neither.
type outSeg struct {
	lit  string
	hole int
	node int
}

// sentinelSets are the two sets of stand-in values; they are eligible
// values themselves (letters and digits, a YAML string everywhere).
var sentinelSets = [2]struct{ prefix, suffix string }{
	{"Pvd9snTa", "Z"},
	{"Hk4wLqzB7rXm", "Yq"},
}

func sentinel(set, i int) string {
	return sentinelSets[set].prefix + strconv.Itoa(i) + sentinelSets[set].suffix
}

// fastTranslateAllowed reports whether Butane's data URLs depend on the
// contents only: with auto-compression on, MakeDataURL would gzip
// contents above a size and set the compression field accordingly.
func fastTranslateAllowed() bool {
	return translateOptions.NoResourceAutoCompression
}

// buildShape translates a key's pieces; nil when not eligible, or, with
// transient set, when a translation was stopped by its time limit or by
// too many abandoned renders.
func buildShape(pieces []string, holes int, timeout time.Duration) (s *shape, transient bool) {
	if len(pieces) != holes+1 {
		return nil, false
	}
	for _, p := range pieces {
		for _, set := range sentinelSets {
			if strings.Contains(p, set.prefix) {
				return nil, false
			}
		}
	}
	var shapes [2]*shape
	for set := range sentinelSets {
		var b strings.Builder
		for i, p := range pieces {
			b.WriteString(p)
			if i < holes {
				b.WriteString(sentinel(set, i))
			}
		}
		s, transient := shapeOf([]byte(b.String()), set, holes, timeout)
		if s == nil {
			return nil, transient
		}
		shapes[set] = s
	}
	if !sameShape(shapes[0], shapes[1]) {
		return nil, false
	}
	return shapes[0], false
}

// shapeOf finds the holes of src (filled with sentinel set set) in its
// YAML and in its translation.
func shapeOf(src []byte, set, holes int, timeout time.Duration) (*shape, bool) {
	s := &shape{holeNode: make([]int, holes), holeStyle: make([]yaml.Style, holes)}
	for i := range s.holeNode {
		s.holeNode[i] = -1
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, false
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode || !plainTree(root) {
		return nil, false
	}
	variant, version := mapValue(root, "variant"), mapValue(root, "version")
	if variant == nil || version == nil || !fastVersions[variant.Value+" "+version.Value] {
		return nil, false
	}
	var texts []string // each node's text with the sentinels in it
	if !s.findHoles(root, nil, set, &texts) {
		return nil, false
	}
	for i, n := range s.holeNode {
		if n < 0 {
			return nil, false // in a key, a comment, a disallowed field
		}
		s.holeStyle[i] = s.nodes[n].style
	}
	out, err := RunTimeout("Butane translation", timeout, func() ([]byte, error) {
		out, ws, err := ButaneToIgnition(src)
		if err == nil && len(ws) > 0 {
			return nil, errWarned
		}
		return out, err
	})
	if err != nil {
		return nil, errors.Is(err, ErrRenderTimeout) || errors.Is(err, ErrRenderBusy)
	}
	if _, ok := generatedVersion(out); !ok {
		return nil, false
	}
	// Where each node's output is.
	type place struct{ at, end, node int }
	var places []place
	for n, node := range s.nodes {
		var enc []byte
		if node.kind == nodeDataURL {
			uri, _, err := baseutil.MakeDataURL([]byte(texts[n]), nil, false)
			if err != nil {
				return nil, false
			}
			enc = []byte(strconv.Quote(uri)) // a data URL is printable ASCII without quotes or backslashes
		} else {
			if enc, err = json.Marshal(texts[n]); err != nil {
				return nil, false
			}
			opts, err := ignparse.ParseUnitContents(&texts[n])
			if err != nil {
				return nil, false
			}
			node.unit = unitLayout(opts)
			s.nodes[n] = node
		}
		at := strings.Index(string(out), string(enc))
		if at < 0 || strings.Contains(string(out[at+1:]), string(enc)) {
			return nil, false
		}
		places = append(places, place{at, at + len(enc), n})
	}
	sort.Slice(places, func(i, j int) bool { return places[i].at < places[j].at })
	prev := 0
	for _, p := range places {
		if p.at < prev {
			return nil, false // overlapping places
		}
		lit := string(out[prev:p.at])
		if strings.Contains(lit, sentinelSets[set].prefix) {
			return nil, false
		}
		node := s.nodes[p.node]
		if node.kind == nodeDataURL {
			s.segs = append(s.segs, outSeg{lit: lit + `"`, hole: -1, node: p.node})
			prev = p.end - 1 // the closing quote starts the next literal
			continue
		}
		// A unit's text: the JSON string, cut at the sentinels.
		seg := string(out[p.at:p.end])
		for _, h := range node.holes {
			sen := sentinel(set, h)
			j := strings.Index(seg, sen)
			if j < 0 {
				return nil, false
			}
			s.segs = append(s.segs, outSeg{lit: lit + seg[:j], hole: h, node: -1})
			lit = ""
			seg = seg[j+len(sen):]
		}
		if strings.Contains(seg, sentinelSets[set].prefix) {
			return nil, false
		}
		s.segs = append(s.segs, outSeg{lit: lit + seg, hole: -1, node: -1})
		prev = p.end
	}
	tail := string(out[prev:])
	if strings.Contains(tail, sentinelSets[set].prefix) {
		return nil, false
	}
	s.segs = append(s.segs, outSeg{lit: tail, hole: -1, node: -1})
	return s, false
}

// fastVersions are the Butane variants and versions (butane v0.29.0)
// whose file contents become data URLs through MakeDataURL: fcos 1.0.0
// (base v0_1) percent-encodes them always, and openshift decodes them
// again; experimental versions are refused anyway. A version Butane adds
// later takes the slow path until it is read and listed here.
var fastVersions = map[string]bool{
	"fcos 1.1.0": true, "fcos 1.2.0": true, "fcos 1.3.0": true, "fcos 1.4.0": true,
	"fcos 1.5.0": true, "fcos 1.6.0": true, "fcos 1.7.0": true,
	"flatcar 1.0.0": true, "flatcar 1.1.0": true,
}

// errWarned stands for a translation with warnings: such a shape is not
// eligible, so that warnings are reported by the slow path as before.
var errWarned = &ButaneError{Problems: []ButaneProblem{{Message: "warned"}}}

// size is about how many bytes s holds.
func (s *shape) size() int {
	n := 64 * (len(s.holeNode) + len(s.segs))
	for _, g := range s.segs {
		n += len(g.lit)
	}
	for _, node := range s.nodes {
		for _, p := range node.pieces {
			n += len(p) + 16
		}
		for _, u := range node.unit {
			n += len(u) + 16
		}
	}
	return n
}

// sameShape reports whether two sentinel sets gave the same shape.
func sameShape(a, b *shape) bool {
	if len(a.nodes) != len(b.nodes) || len(a.segs) != len(b.segs) {
		return false
	}
	for i := range a.holeNode {
		if a.holeNode[i] != b.holeNode[i] || a.holeStyle[i] != b.holeStyle[i] {
			return false
		}
	}
	for i := range a.nodes {
		x, y := a.nodes[i], b.nodes[i]
		if x.kind != y.kind || x.style != y.style || !slices.Equal(x.pieces, y.pieces) ||
			!slices.Equal(x.holes, y.holes) || !slices.Equal(x.unit, y.unit) {
			return false
		}
	}
	for i := range a.segs {
		if a.segs[i] != b.segs[i] {
			return false
		}
	}
	return true
}
