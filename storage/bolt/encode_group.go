package bolt

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/provisiond/provisiond/groups"
)

// encodeGroup is json.Marshal(g), byte for byte, without reflection for
// the usual group: strings of printable ASCII that encoding/json writes as
// they are, metadata of strings, booleans, null, lists and objects (other
// values, numbers among them, are encoded by encoding/json one by one).
// A group it cannot write so (a string to escape) is encoded by
// json.Marshal. At 100,000 groups, json.Marshal was a quarter of the
// write of a new catalog. TestEncodeGroupIsMarshal checks the two agree.
func encodeGroup(g *groups.Group) ([]byte, error) {
	buf := make([]byte, 0, 512)
	buf, ok := appendGroup(buf, g)
	if !ok {
		return json.Marshal(g)
	}
	return buf, nil
}

// groupArena is the size of the buffers encodeGroupIn appends groups to;
// groupRoom the room one must have left for the next group to go there.
const (
	groupArena = 256 << 10
	groupRoom  = 4 << 10
)

// encodeGroupIn is encodeGroup appending the bytes to *arena, replaced
// by a new buffer when it has less than groupRoom left: at a million
// groups, one allocation of a few hundred kilobytes per 700 groups
// instead of a 512-byte one per group, and no unused tail kept per value
// until the commit. The value returned is capped at its length, so that
// appending to it cannot write over the next one.
func encodeGroupIn(arena *[]byte, g *groups.Group) ([]byte, error) {
	if cap(*arena)-len(*arena) < groupRoom {
		*arena = make([]byte, 0, groupArena)
	}
	start := len(*arena)
	b, ok := appendGroup(*arena, g)
	if !ok {
		// What appendGroup wrote past len(*arena) is overwritten by
		// the next group.
		v, err := json.Marshal(g)
		return v[:len(v):len(v)], err
	}
	v := b[start:len(b):len(b)]
	if cap(b) != cap(*arena) {
		// A group larger than the room left: b is a new array; the
		// next group starts a new arena.
		*arena = nil
	} else {
		*arena = b
	}
	return v, nil
}

func appendGroup(b []byte, g *groups.Group) ([]byte, bool) {
	ok := true
	str := func(s string) {
		if ok {
			b, ok = appendPlainString(b, s)
		}
	}
	b = append(b, `{"id":`...)
	str(g.ID)
	if g.Name != "" {
		b = append(b, `,"name":`...)
		str(g.Name)
	}
	b = append(b, `,"profile":`...)
	str(g.Profile)
	if len(g.Selector) > 0 {
		b = append(b, `,"selector":`...)
		if ok {
			b, ok = appendStringMap(b, g.Selector)
		}
	}
	if g.Metadata.Len() > 0 {
		b = append(b, `,"metadata":`...)
		if ok {
			b, ok = appendMetadata(b, g.Metadata)
		}
	}
	if g.Pool != "" {
		b = append(b, `,"pool":`...)
		str(g.Pool)
	}
	if g.EtcdCluster {
		b = append(b, `,"etcd_cluster":true`...)
	}
	if g.InstallOnce {
		b = append(b, `,"install_once":true`...)
	}
	if len(g.Written) > 0 {
		b = append(b, `,"selector_as_written":`...)
		if ok {
			b, ok = appendStringMap(b, g.Written)
		}
	}
	return append(b, '}'), ok
}

// appendPlainString appends s quoted, when encoding/json writes it as it
// is: printable ASCII other than '"', '\\' and the HTML characters it
// escapes ('<', '>', '&').
func appendPlainString(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return b, false
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}

// appendStringMap appends a selector as encoding/json writes it; one not
// in key order (a Selector literal) is left to json.Marshal.
func appendStringMap(b []byte, sel groups.Selector) ([]byte, bool) {
	b = append(b, '{')
	ok := true
	for i, l := range sel {
		if i > 0 {
			if l.Key <= sel[i-1].Key {
				return b, false
			}
			b = append(b, ',')
		}
		if b, ok = appendPlainString(b, l.Key); !ok {
			return b, false
		}
		b = append(b, ':')
		if b, ok = appendPlainString(b, l.Value); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

// appendMetadata appends a group's metadata as encoding/json writes the
// map it stands for: its keys in order.
func appendMetadata(b []byte, m groups.Metadata) ([]byte, bool) {
	b = append(b, '{')
	ok := true
	for i := range m.Len() {
		k, v := m.At(i)
		if i > 0 {
			b = append(b, ',')
		}
		if b, ok = appendPlainString(b, k); !ok {
			return b, false
		}
		b = append(b, ':')
		if b, ok = appendValue(b, v, 1); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

// appendValue appends the JSON of a decoded metadata value as
// encoding/json writes it: objects with their keys sorted.
func appendValue(b []byte, v any, depth int) ([]byte, bool) {
	if depth > 64 {
		return b, false
	}
	ok := true
	switch x := v.(type) {
	case string:
		return appendPlainString(b, x)
	case bool:
		return strconv.AppendBool(b, x), true
	case nil:
		return append(b, "null"...), true
	case map[string]any:
		var keysBuf [16]string
		keys := keysBuf[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendPlainString(b, k); !ok {
				return b, false
			}
			b = append(b, ':')
			if b, ok = appendValue(b, x[k], depth+1); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	case []any:
		if x == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendValue(b, e, depth+1); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	default:
		// Numbers (float64, json.Number) and anything else: as
		// encoding/json writes them.
		enc, err := json.Marshal(v)
		if err != nil {
			return b, false
		}
		return append(b, enc...), true
	}
}
