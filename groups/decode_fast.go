package groups

import (
	"hash/maphash"
	"strconv"
	"sync"
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
func decodeFast(data []byte) (*Group, bool) {
	p := fastParser{data: data}
	if t := takeStrings(); t != nil {
		p.strs = &t.r
		defer t.mu.Unlock()
	}
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
			key, ok := p.str()
			if !ok {
				return nil, false
			}
			p.space()
			if !p.byte(':') {
				return nil, false
			}
			p.space()
			bit, ok := groupFields[key]
			if !ok || seen&bit != 0 {
				return nil, false // unknown, spelled otherwise, or twice: the strict decoder's
			}
			seen |= bit
			switch key {
			case "id":
				g.ID, ok = p.str()
			case "name":
				g.Name, ok = p.str()
			case "profile":
				g.Profile, ok = p.str()
			case "pool":
				g.Pool, ok = p.str()
			case "etcd_cluster":
				g.EtcdCluster, ok = p.boolean()
			case "install_once":
				g.InstallOnce, ok = p.boolean()
			case "selector":
				ok = p.strMap(g.Selector)
			case "selector_as_written":
				g.Written = map[string]string{}
				ok = p.strMap(g.Written)
			case "metadata":
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

var groupFields = map[string]uint16{
	"id": 1 << 0, "name": 1 << 1, "profile": 1 << 2, "selector": 1 << 3, "metadata": 1 << 4,
	"pool": 1 << 5, "etcd_cluster": 1 << 6, "install_once": 1 << 7, "selector_as_written": 1 << 8,
}

// maxFastDepth bounds the nesting decodeFast follows; deeper values go to
// the strict decoder.
const maxFastDepth = 64

type fastParser struct {
	data []byte
	i    int
	// strs shares the strings that repeat from group to group.
	strs *recentStrings
}

// recentStrings remembers the strings of the last groups decoded, so
// that the ones that repeat from group to group -- metadata keys, the
// profile's name, a gateway, a network, an SSH key, a rack -- are one
// string in memory (and one boxed value in metadata) instead of one per
// group: at 100,000 groups of the matchbox shape that is a third of what
// the decoded groups hold. It is a small table indexed by a hash of the
// bytes, two places per string: a string seen again takes no
// allocation, one not seen (an id, an address) takes its place in the
// table (the one of the two not used since it was filled, else the
// first), so that it holds a few hundred recent strings and never grows.
// A decoding goroutine takes one of stringTables for the group it decodes.
type recentStrings struct {
	slots [recentSlots]recentString
}

type recentString struct {
	s string
	v any // s as a metadata value, boxed once
	// used says s was found again since it was put here.
	used bool
}

const (
	recentSlots = 1024 // a power of two
	// maxShared bounds the length of a string looked up; a longer one
	// is copied as it is.
	maxShared = 512
)

var (
	// stringTables are the tables decoders take, one at a time each
	// (takeStrings); more goroutines decoding at once than there are
	// tables copy their strings as they are.
	stringTables [8]stringTable
	stringsSeed  = maphash.MakeSeed()
)

type stringTable struct {
	mu sync.Mutex
	r  recentStrings
}

// takeStrings locks and returns the first free table of stringTables, nil
// when all are taken.
func takeStrings() *stringTable {
	for i := range stringTables {
		if t := &stringTables[i]; t.mu.TryLock() {
			return t
		}
	}
	return nil
}

// slot returns the place in r of b (not empty) and whether it holds b.
func (r *recentStrings) slot(b []byte) (*recentString, bool) {
	h := maphash.Bytes(stringsSeed, b)
	a, c := &r.slots[h&(recentSlots-1)], &r.slots[(h>>32)&(recentSlots-1)]
	switch {
	case a.s == string(b):
		a.used = true
		return a, true
	case c.s == string(b):
		c.used = true
		return c, true
	case a.used && !c.used:
		return c, false
	}
	return a, false
}

// str returns b as a string, the one seen before when b repeats (a copy
// when r is nil).
func (r *recentStrings) str(b []byte) string {
	if r == nil || len(b) == 0 || len(b) > maxShared {
		return string(b)
	}
	e, ok := r.slot(b)
	if !ok {
		*e = recentString{s: string(b)}
	}
	return e.s
}

// value is str as a metadata value (an any holding the string).
func (r *recentStrings) value(b []byte) any {
	if r == nil || len(b) == 0 || len(b) > maxShared {
		return string(b)
	}
	e, ok := r.slot(b)
	if !ok {
		s := string(b)
		*e = recentString{s: s, v: s}
		return e.v
	}
	if e.v == nil {
		e.v = e.s
	}
	return e.v
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
	b, ok := p.strBytes()
	if !ok {
		return "", false
	}
	return p.strs.str(b), true
}

// strBytes parses a string of printable ASCII with no escape and returns
// its bytes (in data).
func (p *fastParser) strBytes() ([]byte, bool) {
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
		b, ok := p.strBytes()
		if !ok {
			return nil, false
		}
		return p.strs.value(b), true
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == 't' || c == 'f':
		return p.boolean()
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
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
