package groups

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/provisiond/provisiond/internal/invalid"
	"github.com/provisiond/provisiond/internal/strictjson"
)

// Group selects machines by their labels and names the profile they boot.
// The JSON form is matchbox's, plus the optional pool.
type Group struct {
	ID       string   `json:"id"`
	Name     string   `json:"name,omitempty"`
	Profile  string   `json:"profile"`
	Selector Selector `json:"selector,omitempty"`
	Metadata Metadata `json:"metadata,omitzero"`
	// Pool names the IP pool that machines of this group draw a lease from.
	Pool string `json:"pool,omitempty"`
	// EtcdCluster marks a group whose registered machines are the members
	// of one etcd cluster, so that the catalog load can warn about member
	// counts that buy no fault tolerance.
	EtcdCluster bool `json:"etcd_cluster,omitempty"`
	// InstallOnce: a machine of this group that is installed (see
	// inventory.BootDisk) is answered a script that boots its local disk
	// instead of the profile, until it is marked for reprovisioning.
	InstallOnce bool `json:"install_once,omitempty"`
	// Written is the selector as a client wrote it, kept only when it
	// differs from the normalized Selector (a key "MAC", a value
	// "52-54-00-89-D8-10"), so that matchbox's gRPC GroupGet returns what
	// GroupPut was given and Terraform sees no drift. Normalize checks
	// that it normalizes to Selector.
	Written Selector `json:"selector_as_written,omitempty"`
}

// ErrInvalid is returned (wrapped) for a group that is not well formed.
var ErrInvalid = errors.New("invalid group")

// Decode parses a group from JSON. Unknown fields are an error, as is a
// selector value that is not a string (matchbox silently skips the whole
// group). Selector keys are lowercased and a mac selector is normalized, so
// the index compares like with like.
func Decode(data []byte) (*Group, error) {
	g, ok := decodeFast(data)
	if !ok {
		var err error
		if g, err = decodeStrict(data); err != nil {
			return nil, err
		}
	}
	if err := g.normalize(true); err != nil {
		return nil, err
	}
	return g, nil
}

// decodeStrict is Decode before Normalize, with encoding/json: the
// decoder of record, whose errors Decode reports.
func decodeStrict(data []byte) (*Group, error) {
	g, rawSel, err := decodeStrictMaps(data)
	if err != nil {
		return nil, err
	}
	sel := make(map[string]string, len(rawSel))
	for k, v := range rawSel {
		var s *string // nil for null, which would otherwise read as ""
		if err := json.Unmarshal(v, &s); err != nil || s == nil {
			return nil, invalid.Field("selector."+k, fmt.Errorf("%w: selector %q: value %s is not a string", ErrInvalid, k, v))
		}
		sel[k] = *s
	}
	g.Selector = SelectorOf(sel)
	return g, nil
}

// decodeStrictMaps is decodeStrict up to the selector's values, which it
// returns as they are written.
func decodeStrictMaps(data []byte) (g *Group, sel map[string]json.RawMessage, err error) {
	g = new(Group)
	// Group is the group as it was declared when its selector and
	// metadata were maps, under the same name, so that encoding/json's
	// errors name the same fields and types as they did then ("Go
	// struct field .Group.metadata of type map[string]interface {}").
	type Group struct {
		ID          string            `json:"id"`
		Name        string            `json:"name,omitempty"`
		Profile     string            `json:"profile"`
		Selector    map[string]string `json:"selector,omitempty"`
		Metadata    map[string]any    `json:"metadata,omitempty"`
		Pool        string            `json:"pool,omitempty"`
		EtcdCluster bool              `json:"etcd_cluster,omitempty"`
		InstallOnce bool              `json:"install_once,omitempty"`
		Written     map[string]string `json:"selector_as_written,omitempty"`
	}
	var raw struct {
		Group
		Selector map[string]json.RawMessage `json:"selector,omitempty"`
	}
	if err := strictjson.Decode(data, &raw); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	r := raw.Group
	g.ID, g.Name, g.Profile, g.Pool, g.EtcdCluster, g.InstallOnce = r.ID, r.Name, r.Profile, r.Pool, r.EtcdCluster, r.InstallOnce
	g.Metadata = MetadataOf(r.Metadata)
	g.Written = SelectorOf(r.Written)
	return g, raw.Selector, nil
}

// Normalize lowercases selector keys, normalizes mac and uuid selector
// values, and checks the required fields.
func (g *Group) Normalize() error { return g.normalize(false) }

// normalize is Normalize; with keep, a selector that is already in
// normal form is kept instead of copied (Decode's own map, which no
// caller shares: at 100,000 groups the copies are 100,000 maps).
func (g *Group) normalize(keep bool) error {
	if g.ID == "" {
		return invalid.Field("id", fmt.Errorf("%w: id is required", ErrInvalid))
	}
	if g.Profile == "" {
		return invalid.Field("profile", fmt.Errorf("%w %q: profile is required", ErrInvalid, g.ID))
	}
	if !keep || !isNormalSelector(g.Selector) {
		sel, err := g.normalSelector()
		if err != nil {
			return err
		}
		g.Selector = sel
	}
	if g.Written != nil {
		w := Group{ID: g.ID, Profile: g.Profile, Selector: g.Written}
		if err := w.Normalize(); err != nil || !w.Selector.Equal(g.Selector) {
			return fmt.Errorf("%w %q: selector_as_written is not the selector as written", ErrInvalid, g.ID)
		}
	}
	return nil
}

// isNormalSelector reports whether Normalize would leave sel as it is.
func isNormalSelector(sel Selector) bool {
	if !sel.sorted() {
		return false
	}
	for _, l := range sel {
		k, v := l.Key, l.Value
		if k == "" || strings.ToLower(k) != k {
			return false
		}
		switch k {
		case "mac":
			if m, ok := macFast(v); !ok || m != v {
				return false
			}
		case "uuid":
			if id, err := ParseUUID(v); err != nil || id != v {
				return false
			}
		}
	}
	return true
}

// normalSelector returns g's selector in normal form, in a new Selector
// in key order (empty, not nil, for none).
func (g *Group) normalSelector() (Selector, error) {
	sel := make(Selector, 0, len(g.Selector))
	for _, l := range g.Selector {
		k, v := l.Key, l.Value
		key := strings.ToLower(k)
		if key == "" {
			return nil, fmt.Errorf("%w %q: empty selector key", ErrInvalid, g.ID)
		}
		if _, dup := sel.Get(key); dup {
			return nil, fmt.Errorf("%w %q: selector key %q given twice (keys are case-insensitive)", ErrInvalid, g.ID, key)
		}
		switch key {
		case "mac":
			mac, err := ParseMAC(v)
			if err != nil {
				return nil, invalid.Field("selector.mac", fmt.Errorf("%w %q: selector mac: %w", ErrInvalid, g.ID, err))
			}
			v = mac
		case "uuid":
			id, err := ParseUUID(v)
			if err != nil {
				return nil, invalid.Field("selector.uuid", fmt.Errorf("%w %q: selector uuid: %w", ErrInvalid, g.ID, err))
			}
			v = id
		}
		sel = append(sel, Label{key, v})
	}
	sel.sort()
	return sel, nil
}

// SelectorString returns the selector as sorted "k=v" pairs joined by
// commas, matchbox's tie-break key.
func (g *Group) SelectorString() string {
	return g.Selector.String()
}

// SelectorString formats a selector as sorted "k=v" pairs joined by commas.
func SelectorString(sel map[string]string) string {
	pairs := make([]string, 0, len(sel))
	for k, v := range sel {
		pairs = append(pairs, k+"="+v)
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ",")
}

// Matches reports whether every selector key/value equals the label of the
// same key.
func (g *Group) Matches(l Labels) bool {
	return matches(g.Selector, l)
}

func matches(sel Selector, l Labels) bool {
	for _, p := range sel {
		if lv, ok := l[p.Key]; !ok || lv != p.Value {
			return false
		}
	}
	return true
}

// ParseSelector parses the "k=v,k2=v2" form used by the members template
// function and the admin API. Keys are lowercased; mac and uuid values are
// normalized. The Selector is in key order, empty (not nil) for "".
func ParseSelector(s string) (Selector, error) {
	sel := Selector{}
	if strings.TrimSpace(s) == "" {
		return sel, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || k == "" {
			return nil, fmt.Errorf("selector %q: %q is not key=value", s, part)
		}
		v = strings.TrimSpace(v)
		switch k {
		case "mac":
			mac, err := ParseMAC(v)
			if err != nil {
				return nil, fmt.Errorf("selector %q: %w", s, err)
			}
			v = mac
		case "uuid":
			id, err := ParseUUID(v)
			if err != nil {
				return nil, fmt.Errorf("selector %q: %w", s, err)
			}
			v = id
		}
		if _, dup := sel.Get(k); dup {
			return nil, fmt.Errorf("selector %q: key %q given twice", s, k)
		}
		sel = append(sel, Label{k, v})
	}
	sel.sort()
	return sel, nil
}
