package groups

import (
	"bytes"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
	"sync"
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
// The strings that repeat from group to group (metadata keys, the
// profile, a gateway, an SSH key) are shared with the groups decoded
// before (recentStrings); the group's other strings share one allocation
// of exactly the bytes they hold, and its scalar metadata values are
// boxed from a slab (see slab): 9 heap objects at most for a group of
// the matchbox shape instead of 39, the objects the garbage collector
// marks on every cycle while a catalog of 100,000 groups is served, and
// a third fewer bytes.
func decodeFast(data []byte) (*Group, bool) {
	p := fastParser{data: data}
	if t := takeStrings(); t != nil {
		p.recent = &t.r
		defer t.mu.Unlock()
	}
	p.strs = make([]byte, 0, p.unsharedBytes(data))
	g := &Group{Selector: Selector{}}
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
				g.Selector, ok = p.selector()
			case fieldWritten:
				g.Written, ok = p.selector()
			case fieldMetadata:
				if n := stringValues(p.data[p.i:], p.recent); n > 0 {
					p.box.strs = make([]string, 0, n) // the slab in one allocation
				}
				g.Metadata, ok = p.metadata()
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
// JSON value data starts with, less those shared (held by shared, when
// not nil): the room its string values take in a slab. Only a count: a
// value the fast parser refuses counts anyhow, and a shared one evicted
// meanwhile is boxed on its own.
func stringValues(data []byte, shared *recentStrings) int {
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
				if v := data[i-j : i]; shared == nil || len(v) > maxShared || !shared.holdsValue(v) {
					n++
				}
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

// unsharedBytes returns how many bytes data holds between double quotes,
// as if no string had an escape, less the strings p.recent already holds
// (which the group shares): the room the group's own strings take
// (decodeFast refuses an escape). A string evicted from the table while
// the group is decoded is copied on its own.
func (p *fastParser) unsharedBytes(data []byte) int {
	n := 0
	for i := 0; i < len(data); i++ {
		if data[i] != '"' {
			continue
		}
		j := bytes.IndexByte(data[i+1:], '"')
		if j < 0 {
			return n + len(data) - i - 1
		}
		if b := data[i+1 : i+1+j]; p.recent == nil || len(b) > maxShared || !p.recent.holds(b) {
			n += len(b)
		}
		i += 1 + j
	}
	return n
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
	// keys are the metadata keys of the last group decoded, which the
	// next group of the same keys shares.
	keys *[]string
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

// holds reports whether r holds b, changing nothing.
func (r *recentStrings) holds(b []byte) bool {
	if len(b) == 0 {
		return true // "" takes no room
	}
	h := maphash.Bytes(stringsSeed, b)
	return r.slots[h&(recentSlots-1)].s == string(b) || r.slots[(h>>32)&(recentSlots-1)].s == string(b)
}

// holdsValue reports whether r holds b boxed as a metadata value,
// changing nothing.
func (r *recentStrings) holdsValue(b []byte) bool {
	if len(b) == 0 {
		return true // "" is boxed without room
	}
	h := maphash.Bytes(stringsSeed, b)
	a, c := &r.slots[h&(recentSlots-1)], &r.slots[(h>>32)&(recentSlots-1)]
	return a.s == string(b) && a.v != nil || c.s == string(b) && c.v != nil
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
	// recent shares the strings that repeat from group to group (nil
	// when every table is taken).
	recent *recentStrings
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
	e := p.lookup(b)
	if e != nil && e.s == string(b) {
		return e.s, true
	}
	s := p.own(b)
	if e != nil {
		*e = recentString{s: s}
	}
	return s, true
}

// strValue is str as a metadata value: an any holding the string, boxed
// once for every group that shares it.
func (p *fastParser) strValue() (any, bool) {
	b, ok := p.raw()
	if !ok {
		return nil, false
	}
	if len(b) == 0 {
		return "", true // no allocation: the runtime points it at its zero value
	}
	e := p.lookup(b)
	if e != nil && e.s == string(b) {
		if e.v == nil {
			e.v = p.box.str(e.s)
		}
		return e.v, true
	}
	v := p.box.str(p.own(b))
	if e != nil {
		*e = recentString{s: v.(string), v: v}
	}
	return v, true
}

// lookup returns b's place in p.recent: holding b when found there, else
// the place b is to take; nil without a table or for a string too long
// to share.
func (p *fastParser) lookup(b []byte) *recentString {
	if p.recent == nil || len(b) > maxShared {
		return nil
	}
	e, _ := p.recent.slot(b)
	return e
}

// own returns b as a string in the group's own allocation (a copy of its
// own when that has no room left: a shared string evicted meanwhile).
func (p *fastParser) own(b []byte) string {
	if len(p.strs)+len(b) > cap(p.strs) {
		return string(b)
	}
	start := len(p.strs)
	p.strs = append(p.strs, b...)
	return unsafe.String(&p.strs[start], len(b))
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

// selector parses an object of strings into a Selector in key order,
// refusing a key given twice.
func (p *fastParser) selector() (Selector, bool) {
	if !p.byte('{') {
		return nil, false
	}
	var buf [4]Label
	s := Selector(buf[:0])
	p.space()
	if !p.byte('}') {
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
			v, ok := p.str()
			if !ok {
				return nil, false
			}
			s = append(s, Label{k, v})
			p.space()
			if p.byte('}') {
				break
			}
			if !p.byte(',') {
				return nil, false
			}
		}
	}
	if !s.sorted() {
		slices.SortStableFunc(s, func(a, b Label) int { return strings.Compare(a.Key, b.Key) })
		for i := 1; i < len(s); i++ {
			if s[i].Key == s[i-1].Key {
				return nil, false
			}
		}
	}
	out := make(Selector, len(s)) // exactly its pairs; an empty one not nil
	copy(out, s)
	return out, true
}

// metadata parses the top-level metadata object as encoding/json decodes
// one into map[string]any, into a Metadata whose keys are those of the
// group decoded before when they are the same.
func (p *fastParser) metadata() (Metadata, bool) {
	if !p.byte('{') {
		return Metadata{}, false
	}
	var kbuf [8]string
	var vbuf [8]any
	keys, vals := kbuf[:0], vbuf[:0]
	p.space()
	if !p.byte('}') {
		for {
			p.space()
			k, ok := p.str()
			if !ok {
				return Metadata{}, false
			}
			p.space()
			if !p.byte(':') {
				return Metadata{}, false
			}
			p.space()
			v, ok := p.value(1)
			if !ok {
				return Metadata{}, false
			}
			keys, vals = append(keys, k), append(vals, v)
			p.space()
			if p.byte('}') {
				break
			}
			if !p.byte(',') {
				return Metadata{}, false
			}
		}
	}
	if !sortFields(keys, vals) {
		return Metadata{}, false // a key given twice: the strict decoder's
	}
	var shared *[]string
	if p.recent != nil && p.recent.keys != nil && slices.Equal(*p.recent.keys, keys) {
		shared = p.recent.keys
	} else {
		c := slices.Clone(keys)
		shared = &c
		if p.recent != nil {
			p.recent.keys = shared
		}
	}
	return newMetadata(shared, append(make([]any, 0, len(vals)), vals...)), true
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
		return p.strValue()
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
