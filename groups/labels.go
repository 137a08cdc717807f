package groups

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// ErrBadMAC is returned (wrapped) when a mac label cannot be parsed.
var ErrBadMAC = errors.New("invalid mac")

// ErrBadUUID is returned (wrapped) when a uuid label cannot be parsed.
var ErrBadUUID = errors.New("invalid uuid")

// ErrBadLabels is returned (wrapped) when a query has too many labels or
// labels that are too long.
var ErrBadLabels = errors.New("invalid labels")

// Limits on what a request's query may carry. They bound the work a hostile
// client can cause; real iPXE chains send about six labels.
const (
	MaxLabels     = 64
	MaxLabelKey   = 128
	MaxLabelValue = 1024
)

// Labels are the facts of one request: its query parameters (keys lowercased,
// first value of each, mac normalized, uuid lowercased), later merged with
// the stored labels of the machine it names.
type Labels map[string]string

// MAC is a hardware address in the one form provisiond keeps, compares and
// keys leases by: lowercase colon form (52:54:00:89:d8:10), as NewMAC and
// FromQuery return it. The zero value is no address. A request's mac is
// parsed once, by FromQuery; after that it travels as a MAC.
type MAC string

// NewMAC parses a hardware address in any form matchbox accepts (colon
// 52:54:00:89:d8:10, hyphen 52-54-00-89-d8-10, dot 5254.0089.d810, any case;
// 6, 8 or 20 bytes).
func NewMAC(s string) (MAC, error) {
	if m, ok := macFast(s); ok {
		return MAC(m), nil
	}
	hw, err := net.ParseMAC(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("%w %q: want 52:54:00:89:d8:10, 52-54-00-89-d8-10 or 5254.0089.d810", ErrBadMAC, truncate(s, 64))
	}
	return MAC(hw.String()), nil
}

// macFast is NewMAC for the forms nearly every mac comes in: six bytes
// in colon or hyphen form, any case. A mac already in the kept form is
// returned as it is, without an allocation (every group selector and
// machine record holds one); another is rewritten in one allocation
// instead of net.ParseMAC's two. It reports false for anything else,
// which NewMAC then gives to net.ParseMAC (FuzzParseMAC checks that
// both agree).
func macFast(s string) (string, bool) {
	if len(s) != 17 || s[2] != ':' && s[2] != '-' {
		return "", false
	}
	sep := s[2]
	kept := sep == ':'
	for i := 0; i < 17; i++ {
		c := s[i]
		if i%3 == 2 {
			if c != sep {
				return "", false
			}
			continue
		}
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
		case 'A' <= c && c <= 'F':
			kept = false
		default:
			return "", false
		}
	}
	if kept {
		return s, true
	}
	var b [17]byte
	for i := 0; i < 17; i++ {
		c := s[i]
		switch {
		case i%3 == 2:
			c = ':'
		case 'A' <= c && c <= 'F':
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return string(b[:]), true
}

// String returns the address in lowercase colon form, "" for none.
func (m MAC) String() string { return string(m) }

// ParseMAC is NewMAC returning the string form, for the JSON objects
// (machines, selectors) that store a mac as a string.
func ParseMAC(s string) (string, error) {
	m, err := NewMAC(s)
	return string(m), err
}

// MAC returns the mac label, normalized by FromQuery, as a MAC.
func (l Labels) MAC() MAC { return MAC(l["mac"]) }

// ParseUUID checks that s is an RFC 4122 textual UUID (8-4-4-4-12 hex digits,
// any case) and returns it lowercased. SMBIOS UUIDs are not required to have
// a valid version nibble, so none is checked.
func ParseUUID(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) != 36 {
		return "", fmt.Errorf("%w %q: want 8-4-4-4-12 hex digits", ErrBadUUID, truncate(s, 64))
	}
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", fmt.Errorf("%w %q: want 8-4-4-4-12 hex digits", ErrBadUUID, s)
			}
		default:
			switch {
			case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
			case 'A' <= c && c <= 'F':
				upper = true
			default:
				return "", fmt.Errorf("%w %q: want 8-4-4-4-12 hex digits", ErrBadUUID, s)
			}
		}
	}
	if upper {
		return strings.ToLower(s), nil
	}
	return s, nil // already lowercase: no copy
}

// FromQuery turns a request's query into Labels. Keys are lowercased and only
// the first value of each key is kept (selectors never use several values).
// The mac label is normalized; an unparseable mac or uuid is an error rather
// than a silently dropped label, because dropping it could make a machine
// fall through to a default group and receive another machine's config.
// Empty values (iPXE sends "uuid=" when it knows none) are kept as empty
// strings, as matchbox keeps them; an empty mac or uuid names no machine and
// matches no selector. When a key comes in several spellings (MAC and mac),
// the lowercase one wins, otherwise the first in byte order, but an empty
// value never wins over a non-empty one; the mac or uuid of every spelling
// must parse.
func FromQuery(q url.Values) (Labels, error) {
	if len(q) > MaxLabels {
		return nil, fmt.Errorf("%w: %d query parameters, at most %d", ErrBadLabels, len(q), MaxLabels)
	}
	// Sorted by key, so that the answer does not depend on map iteration
	// order; in a buffer on the stack for a boot request's handful.
	var buf [16]Param
	ps := buf[:0]
	for k, vs := range q {
		if len(vs) > 0 {
			ps = append(ps, Param{k, vs[0]})
		}
	}
	slices.SortFunc(ps, func(a, b Param) int { return strings.Compare(a.Key, b.Key) })
	return fromSorted(ps)
}

// Param is one query parameter, as url.ParseQuery splits and unescapes
// it.
type Param struct{ Key, Value string }

// FromParams is FromQuery for a query given as its parameters in order
// (what url.ParseQuery would put in url.Values, one by one): the same
// labels and errors, the first value of a key kept, without building the
// url.Values. It sorts ps by key, in place.
func FromParams(ps []Param) (Labels, error) {
	slices.SortStableFunc(ps, func(a, b Param) int { return strings.Compare(a.Key, b.Key) })
	// The first value of each key (the sort is stable), as url.Values.Get.
	n := 0
	for i, p := range ps {
		if i > 0 && p.Key == ps[n-1].Key {
			continue
		}
		ps[n] = p
		n++
	}
	if n > MaxLabels {
		return nil, fmt.Errorf("%w: %d query parameters, at most %d", ErrBadLabels, n, MaxLabels)
	}
	return fromSorted(ps[:n])
}

// fromSorted is FromQuery for the first value of each key, sorted by key.
func fromSorted(ps []Param) (Labels, error) {
	l := make(Labels, len(ps))
	for _, p := range ps {
		k, v := p.Key, p.Value
		key := strings.ToLower(k)
		if len(key) > MaxLabelKey || len(v) > MaxLabelValue {
			return nil, fmt.Errorf("%w: parameter %q longer than %d/%d bytes", ErrBadLabels, truncate(key, 32), MaxLabelKey, MaxLabelValue)
		}
		// k, not key: strings.ToLower turns invalid UTF-8 into U+FFFD.
		if !printable(k) || !printable(v) {
			return nil, fmt.Errorf("%w: parameter %q: invalid UTF-8 or control characters", ErrBadLabels, truncate(strings.ToValidUTF8(key, "?"), 32))
		}
		if v == "" {
			// Kept, as matchbox keeps it (.request.query.uuid renders ""
			// for "uuid="), but never in place of another spelling's value.
			if _, dup := l[key]; !dup {
				l[key] = ""
			}
			continue
		}
		switch key {
		case "mac":
			mac, err := ParseMAC(v)
			if err != nil {
				return nil, err
			}
			v = mac
		case "uuid":
			id, err := ParseUUID(v)
			if err != nil {
				return nil, err
			}
			v = id
		}
		if prev, dup := l[key]; dup && k != key && prev != "" {
			continue // another spelling of key came first
		}
		l[key] = v
	}
	return l, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// printable reports whether s is valid UTF-8 without control characters:
// labels end up in templates, log lines and env files, where a newline or
// a NUL would forge structure.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
