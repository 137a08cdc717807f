package profiles

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"text/template"
)

// Kind is the kind of a catalog template, which is also its directory in a
// matchbox data directory.
type Kind string

// The template kinds.
const (
	KindIgnition Kind = "ignition"
	KindCloud    Kind = "cloud"
	KindGeneric  Kind = "generic"
)

// Kinds lists every template kind.
var Kinds = []Kind{KindIgnition, KindCloud, KindGeneric}

// ParseKind returns the Kind named s.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown template kind %q: want ignition, cloud or generic", s)
}

// IsRawIgnition reports whether a template name denotes raw Ignition JSON
// (served as is) rather than a Butane template, as in matchbox.
func IsRawIgnition(name string) bool {
	return strings.HasSuffix(name, ".ign") || strings.HasSuffix(name, ".ignition")
}

// ErrOutputTooLarge is returned (wrapped) when a template's output exceeds
// the render limit.
var ErrOutputTooLarge = errors.New("template output too large")

// DefaultMaxOutput bounds a template's rendered size. Ignition configs that
// carry whole files inline are rarely above a few MiB.
const DefaultMaxOutput = 16 << 20

// Template is a parsed Go text/template. It is safe for concurrent use.
type Template struct {
	Name string
	t    *template.Template
	// UsesMembers reports whether the text calls the members function, so
	// a cached rendering depends on the member list as well as its data.
	UsesMembers bool
	// mayLoop is set when the template has a range or a template call:
	// only such a template can run long enough to need a render timeout.
	mayLoop bool
	// text is the source, kept to map rendered places back to it (see
	// Locate).
	text string
	// fast is the Butane fast path's state (see FastIgnition).
	fast fastButane
	// reads are Reads' keys when known (the zero Template reads all).
	reads      []string
	readsKnown bool
}

// Compile parses text as a template named name, with the template functions
// of Funcs bound to members. missingkey=error is always set.
func Compile(name, text string, members MembersFunc) (*Template, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(Funcs(members)).Parse(text)
	if err != nil {
		return nil, err
	}
	for _, d := range t.Templates() {
		if err := checkRanges(d.Tree); err != nil {
			return nil, err // "template: NAME:LINE: ...", as a parse error
		}
	}
	if err := checkRecursion(t); err != nil {
		return nil, fmt.Errorf("template: %s: %w", name, err)
	}
	guardRanges(t)
	reads, all := readKeys(t.Tree)
	return &Template{Name: name, t: t, UsesMembers: strings.Contains(text, "members"), mayLoop: mayLoop(t), text: text, reads: reads, readsKnown: !all}, nil
}

// Execute renders the template with data. Output beyond max bytes (0 means
// DefaultMaxOutput) stops the render with ErrOutputTooLarge.
func (t *Template) Execute(data any, max int) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxOutput
	}
	w := &limitedBuffer{max: max}
	if err := t.t.Execute(w, data); err != nil {
		if errors.Is(err, ErrOutputTooLarge) {
			return nil, fmt.Errorf("template %s: %w (limit %d bytes)", t.Name, ErrOutputTooLarge, max)
		}
		return nil, err
	}
	return w.Bytes(), nil
}

type limitedBuffer struct {
	bytes.Buffer
	max int
	// stop, when set and true, fails every write: the render was
	// abandoned (see ExecuteTimeout).
	stop func() bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.stop != nil && b.stop() {
		return 0, ErrRenderTimeout
	}
	if b.Len()+len(p) > b.max {
		return 0, ErrOutputTooLarge
	}
	return b.Buffer.Write(p)
}
