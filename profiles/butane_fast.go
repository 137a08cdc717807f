package profiles

import (
	"bytes"
	"strings"
	"sync"
	"sync/atomic"
	"text/template/parse"
	"time"
)

// The Butane fast path: a storm's machines share a template and differ in
// a few values (hostname, address, mac), so the Butane config is
// translated once per shape, the template's output with those values cut
// out, and each machine's values are filled into that translation. What
// is served is byte for byte what ButaneToIgnition would have made of the
// machine's own rendering, or the fast path declines and the caller takes
// the slow path. The rules, and why each keeps the bytes identical, are
// in butane_shape.go (building a shape) and butane_fill.go (filling it).
//
// The holes are the template's top-level printing actions ({{ .hostname }}
// outside any range, if, with or define). Rendering a copy of the
// template whose top-level actions are bracketed by marker text gives, in
// one execution with the same functions and data, both the machine's
// values (between the markers) and the shape (the output with the values
// cut out). Anything printed inside a range or an if is part of the shape,
// so a template whose structure varies per machine just has more shapes.

// Hole markers: NUL never appears in a value the fast path accepts, nor
// in a shape it keeps.
const (
	holeStart = "\x00\x01"
	holeEnd   = "\x00\x02"
)

// fastButane is a template's fast-path state, built on first use.
type fastButane struct {
	once   sync.Once
	marked *Template // nil when the template has no top-level action
	holes  int

	mu     sync.Mutex
	shapes map[string]*shapeEntry
	bytes  int

	// Shape builds cost two translations. A template whose shape changes
	// with every machine (a range over per-machine data, say) would pay
	// them for nothing, so new shapes are built only while builds <=
	// fastFreeBuilds + hits/fastHitsPerBuild.
	builds, hits, declines atomic.Uint64
}

const (
	fastFreeBuilds   = 8
	fastHitsPerBuild = 8
	// fastMaxShapes and fastMaxShapeBytes bound a template's shape cache
	// (keys and translated shapes); when full it starts over, like the
	// render cache.
	fastMaxShapes     = 1024
	fastMaxShapeBytes = 32 << 20
)

// shapeEntry is one cache entry: ready is closed once s is set (nil when
// the shape is not eligible); concurrent machines of a new shape wait for
// its one build.
type shapeEntry struct {
	ready chan struct{}
	s     *shape
}

// fastDisabled turns the fast path off (see SetFastIgnition).
var fastDisabled atomic.Bool

// SetFastIgnition turns FastIgnition on or off for the whole process and
// returns whether it was on. It is on by default; tests and benchmarks
// turn it off to compare with the slow path.
func SetFastIgnition(on bool) (was bool) {
	return !fastDisabled.Swap(!on)
}

// FastIgnition renders the template with data and returns its Butane
// translated to Ignition, through the shape cache, when it can prove the
// result identical to ButaneToIgnition of Execute's output with no
// warnings; ok is false otherwise (a render error, a value or shape it
// cannot prove, a template without holes) and the caller takes the slow
// path, which gives the same errors and warnings as ever. max and timeout
// are Execute's and ExecuteTimeout's limits; a shape's translations run
// within timeout each.
func (t *Template) FastIgnition(data any, max int, timeout time.Duration) (out []byte, ok bool) {
	if fastDisabled.Load() || !fastTranslateAllowed() {
		return nil, false
	}
	f := &t.fast
	f.once.Do(func() { f.marked, f.holes = markHoles(t) })
	if f.marked == nil {
		return nil, false
	}
	if max <= 0 {
		max = DefaultMaxOutput
	}
	// The marked output is longer than the plain one by the markers, so
	// a rendering that fits here fits Execute's limit too.
	raw, err := f.marked.ExecuteTimeout(data, max+f.holes*(len(holeStart)+len(holeEnd)), timeout)
	if err != nil {
		f.declines.Add(1)
		return nil, false
	}
	key, values, ok := splitHoles(raw, f.holes)
	if !ok {
		f.declines.Add(1)
		return nil, false
	}
	s := f.shape(key, values, timeout)
	if s == nil {
		f.declines.Add(1)
		return nil, false
	}
	out, ok = s.fill(values)
	if !ok || len(out) > max {
		f.declines.Add(1)
		return nil, false
	}
	f.hits.Add(1)
	fastHits.Add(1)
	return out, true
}

// fastHits counts FastIgnition's answers, process-wide.
var fastHits atomic.Uint64

// FastIgnitionHits returns how many configs FastIgnition has answered in
// this process (for tests and benchmarks).
func FastIgnitionHits() uint64 { return fastHits.Load() }

// FastStats returns how often FastIgnition answered, declined, and built
// a shape (for tests and benchmarks).
func (t *Template) FastStats() (hits, declines, builds uint64) {
	return t.fast.hits.Load(), t.fast.declines.Load(), t.fast.builds.Load()
}

// shape returns the translated shape for key, building it if the budget
// allows; nil when it is not eligible or not built.
func (f *fastButane) shape(key []byte, values [][]byte, timeout time.Duration) *shape {
	f.mu.Lock()
	if e, ok := f.shapes[string(key)]; ok {
		f.mu.Unlock()
		<-e.ready
		return e.s
	}
	if f.builds.Load() >= fastFreeBuilds+f.hits.Load()/fastHitsPerBuild {
		f.mu.Unlock()
		return nil
	}
	f.builds.Add(1)
	if f.shapes == nil || len(f.shapes) >= fastMaxShapes || f.bytes+len(key) > fastMaxShapeBytes {
		f.shapes = map[string]*shapeEntry{}
		f.bytes = 0
	}
	e := &shapeEntry{ready: make(chan struct{})}
	k := string(key)
	f.shapes[k] = e
	f.bytes += len(k)
	f.mu.Unlock()
	s, transient := buildShape(splitKey(k), len(values), timeout)
	e.s = s
	f.mu.Lock()
	if f.shapes[k] == e {
		if transient {
			// A translation that ran out of time (a busy machine)
			// says nothing about the shape: the next machine of it
			// tries again.
			delete(f.shapes, k)
		} else if s != nil {
			f.bytes += s.size()
		}
	}
	f.mu.Unlock()
	close(e.ready)
	return s
}

// markHoles returns a copy of t whose top-level printing actions are
// bracketed by holeStart and holeEnd, and how many there are; nil when
// there are none.
func markHoles(t *Template) (*Template, int) {
	c, err := t.t.Clone()
	if err != nil {
		return nil, 0
	}
	main := c.Lookup(c.Name())
	if main == nil || main.Tree == nil || main.Tree.Root == nil {
		return nil, 0
	}
	main.Tree = main.Tree.Copy()
	var nodes []parse.Node
	holes := 0
	for _, n := range main.Tree.Root.Nodes {
		a, ok := n.(*parse.ActionNode)
		if !ok || a.Pipe == nil || len(a.Pipe.Decl) > 0 {
			nodes = append(nodes, n)
			continue
		}
		holes++
		nodes = append(nodes,
			&parse.TextNode{NodeType: parse.NodeText, Pos: a.Pos, Text: []byte(holeStart)},
			a,
			&parse.TextNode{NodeType: parse.NodeText, Pos: a.Pos, Text: []byte(holeEnd)})
	}
	if holes == 0 {
		return nil, 0
	}
	main.Tree.Root.Nodes = nodes
	return &Template{Name: t.Name, t: c, mayLoop: t.mayLoop, text: t.text}, holes
}

// splitHoles cuts a marked rendering into its key (the rendering with each
// value replaced by one NUL) and its values, in order. ok is false if the
// markers are not where they must be or a NUL is anywhere else (data that
// contains NUL, which the fast path leaves to the slow one).
func splitHoles(raw []byte, holes int) (key []byte, values [][]byte, ok bool) {
	key = make([]byte, 0, len(raw))
	values = make([][]byte, 0, holes)
	rest := raw
	for i := 0; i < holes; i++ {
		j := bytes.IndexByte(rest, 0)
		if j < 0 || !bytes.HasPrefix(rest[j:], []byte(holeStart)) {
			return nil, nil, false
		}
		key = append(key, rest[:j]...)
		key = append(key, 0)
		rest = rest[j+len(holeStart):]
		k := bytes.IndexByte(rest, 0)
		if k < 0 || !bytes.HasPrefix(rest[k:], []byte(holeEnd)) {
			return nil, nil, false
		}
		values = append(values, rest[:k])
		rest = rest[k+len(holeEnd):]
	}
	if bytes.IndexByte(rest, 0) >= 0 {
		return nil, nil, false
	}
	key = append(key, rest...)
	return key, values, true
}

// splitKey returns the literal pieces of a key: one more than its holes.
func splitKey(key string) []string {
	var pieces []string
	for {
		i := strings.IndexByte(key, 0)
		if i < 0 {
			return append(pieces, key)
		}
		pieces = append(pieces, key[:i])
		key = key[i+1:]
	}
}
