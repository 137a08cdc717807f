package groups

import (
	"bytes"
	"strconv"
	"unsafe"
)

// decodeFast parses a group of the shapes json.Marshal and people write
// (any field order and whitespace) without reflection: at 100,000 groups
// encoding/json's reflective, strict decoder is most of a catalog load's
// decoding, paid for the directory and for the stored copy. It reports
// false for anything it does not take on itself — a field name not
// spelled exactly, a field given twice, null, a string with an escape,
// a control byte or non-ASCII byte, a number encoding/json would refuse,
// deep nesting, a syntax error — and Decode then uses the strict decoder,
// so every error, and every accepted oddity, is the strict decoder's.
// When it reports true the group is what the strict decoder gives
// (FuzzDecodeFast), before Normalize.
//
// Every string of the group shares one allocation of exactly the bytes
// they hold, and the scalar metadata values are boxed from a slab (see
// slab): 9 heap objects for a group of the matchbox shape instead of 39,
// the objects the garbage collector marks on every cycle while a catalog
// of 100,000 groups is served.
func decodeFast(data []byte) (*Group, bool) {
	p := fastParser{data: data}
	p.strs = make([]byte, 0, quotedBytes(data))
	g := &Group{Selector: map[string]string{}}
	var seen uint16
	p.space()
	if !p.byte('{') {
		return nil, false
	}
	p.space()
	if !p.byte('}') {
		for {
			p.space()
			key, ok := p.raw()
			if !ok {
				return nil, false
			}
			p.space()
			if !p.byte(':') {
				return nil, false
			}
			p.space()
			bit, ok := groupFields[string(key)]
			if !ok || seen&bit != 0 {
				return nil, false // unknown, spelled otherwise, or twice: the strict decoder's
			}
			seen |= bit
			switch bit {
			case fieldID:
				g.ID, ok = p.str()
			case fieldName:
				g.Name, ok = p.str()
			case fieldProfile:
				g.Profile, ok = p.str()
			case fieldPool:
				g.Pool, ok = p.str()
			case fieldEtcdCluster:
				g.EtcdCluster, ok = p.boolean()
			case fieldInstallOnce:
				g.InstallOnce, ok = p.boolean()
			case fieldSelector:
				ok = p.strMap(g.Selector)
			case fieldWritten:
				g.Written = map[string]string{}
				ok = p.strMap(g.Written)
			case fieldMetadata:
				if n := stringValues(p.data[p.i:]); n > 0 {
					p.box.strs = make([]string, 0, n) // the slab in one allocation
				}
				g.Metadata, ok = p.object(0)
			}
			if !ok {
				return nil, false
			}
			p.space()
			if p.byte('}') {
				break
			}
			if !p.byte(',') {
				return nil, false
			}
		}
	}
	p.space()
	if p.i != len(p.data) {
		return nil, false
	}
	return g, true
}

const (
	fieldID uint16 = 1 << iota
	fieldName
	fieldProfile
	fieldSelector
	fieldMetadata
	fieldPool
	fieldEtcdCluster
	fieldInstallOnce
	fieldWritten
)

var groupFields = map[string]uint16{
	"id": fieldID, "name": fieldName, "profile": fieldProfile, "selector": fieldSelector, "metadata": fieldMetadata,
	"pool": fieldPool, "etcd_cluster": fieldEtcdCluster, "install_once": fieldInstallOnce, "selector_as_written": fieldWritten,
}

// stringValues counts the strings that are values, not keys, in the
// JSON value data starts with: the room its string values take in a
// slab. Only a count: a value the fast parser refuses counts anyhow.
func stringValues(data []byte) int {
	n, depth := 0, 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			j := bytes.IndexByte(data[i+1:], '"')
			if j < 0 {
				return n
			}
			i += 1 + j // the closing quote
			k := i + 1
			for k < len(data) && (data[k] == ' ' || data[k] == '\t' || data[k] == '\n' || data[k] == '\r') {
				k++
			}
			if k == len(data) || data[k] != ':' {
				n++
			}
			if depth == 0 {
				return n
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth <= 0 {
				return n
			}
		}
	}
	return n
}

// quotedBytes returns how many bytes data holds between double quotes,
// as if no string had an escape: the room the strings of a group take
// (decodeFast refuses an escape).
func quotedBytes(data []byte) int {
	n, in := 0, false
	for _, c := range data {
		switch {
		case c == '"':
			in = !in
		case in:
			n++
		}
	}
	return n
}

// maxFastDepth bounds the nesting decodeFast follows; deeper values go to
// the strict decoder.
const maxFastDepth = 64

type fastParser struct {
	data []byte
	i    int
	// strs holds the bytes of every string str returned: one allocation
	// for the group, never appended to beyond its capacity, so that the
	// strings pointing into it never see it change.
	strs []byte
	// box boxes the scalar values of metadata.
	box slab
}

func (p *fastParser) space() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *fastParser) byte(c byte) bool {
	if p.i < len(p.data) && p.data[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *fastParser) literal(s string) bool {
	if len(p.data)-p.i >= len(s) && string(p.data[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

// str parses a string of printable ASCII with no escape.
func (p *fastParser) str() (string, bool) {
	b, ok := p.raw()
	if !ok || len(b) == 0 {
		return "", ok
	}
	if len(p.strs)+len(b) > cap(p.strs) {
		return string(b), true // not counted by quotedBytes: cannot happen
	}
	start := len(p.strs)
	p.strs = append(p.strs, b...)
	return unsafe.String(&p.strs[start], len(b)), true
}

// raw is str returning the string's bytes in data.
func (p *fastParser) raw() ([]byte, bool) {
	if !p.byte('"') {
		return nil, false
	}
	start := p.i
	for ; p.i < len(p.data); p.i++ {
		switch c := p.data[p.i]; {
		case c == '"':
			b := p.data[start:p.i]
			p.i++
			return b, true
		case c < 0x20 || c >= 0x80 || c == '\\':
			return nil, false
		}
	}
	return nil, false
}

func (p *fastParser) boolean() (bool, bool) {
	switch {
	case p.literal("true"):
		return true, true
	case p.literal("false"):
		return false, true
	}
	return false, false
}

// strMap parses an object of strings into m, refusing a key given twice.
func (p *fastParser) strMap(m map[string]string) bool {
	if !p.byte('{') {
		return false
	}
	p.space()
	if p.byte('}') {
		return true
	}
	for {
		p.space()
		k, ok := p.str()
		if !ok {
			return false
		}
		p.space()
		if !p.byte(':') {
			return false
		}
		p.space()
		v, ok := p.str()
		if !ok {
			return false
		}
		if _, dup := m[k]; dup {
			return false
		}
		m[k] = v
		p.space()
		if p.byte('}') {
			return true
		}
		if !p.byte(',') {
			return false
		}
	}
}

// object parses an object as encoding/json decodes one into any.
func (p *fastParser) object(depth int) (map[string]any, bool) {
	if depth > maxFastDepth || !p.byte('{') {
		return nil, false
	}
	m := map[string]any{}
	p.space()
	if p.byte('}') {
		return m, true
	}
	for {
		p.space()
		k, ok := p.str()
		if !ok {
			return nil, false
		}
		p.space()
		if !p.byte(':') {
			return nil, false
		}
		p.space()
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		if _, dup := m[k]; dup {
			return nil, false
		}
		m[k] = v
		p.space()
		if p.byte('}') {
			return m, true
		}
		if !p.byte(',') {
			return nil, false
		}
	}
}

func (p *fastParser) array(depth int) ([]any, bool) {
	if depth > maxFastDepth || !p.byte('[') {
		return nil, false
	}
	a := []any{}
	p.space()
	if p.byte(']') {
		return a, true
	}
	for {
		p.space()
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		a = append(a, v)
		p.space()
		if p.byte(']') {
			return a, true
		}
		if !p.byte(',') {
			return nil, false
		}
	}
}

// value parses a JSON value inside metadata.
func (p *fastParser) value(depth int) (any, bool) {
	if p.i >= len(p.data) {
		return nil, false
	}
	switch c := p.data[p.i]; {
	case c == '"':
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		return p.box.str(s), true
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == 't' || c == 'f':
		return p.boolean()
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		f, ok := p.number()
		if !ok {
			return nil, false
		}
		return p.box.float(f), true
	}
	return nil, false
}

// number parses a JSON number as encoding/json does into any: a float64.
func (p *fastParser) number() (float64, bool) {
	d, start := p.data, p.i
	i := p.i
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		return 0, false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return 0, false
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return 0, false
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	f, err := strconv.ParseFloat(string(d[start:i]), 64)
	if err != nil {
		return 0, false // out of range: encoding/json's error
	}
	p.i = i
	return f, true
}
