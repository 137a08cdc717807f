package catalog

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/internal/invalid"
	"github.com/provisiond/provisiond/internal/strictjson"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
)

// Document is a catalog, or a part of one, as one JSON object: the form of
// the admin API's /api/v1/catalog. Objects are listed sorted by id;
// templates are keyed by kind, then name.
type Document struct {
	Profiles  []*profiles.Profile                 `json:"profiles"`
	Groups    []*groups.Group                     `json:"groups"`
	Pools     []*ipam.Pool                        `json:"pools"`
	Machines  []*Machine                          `json:"machines"`
	Templates map[profiles.Kind]map[string]string `json:"templates"`
}

// Document returns c as a Document.
func (c *Catalog) Document() Document {
	d := Document{
		Profiles:  []*profiles.Profile{},
		Groups:    []*groups.Group{},
		Pools:     []*ipam.Pool{},
		Machines:  []*Machine{},
		Templates: map[profiles.Kind]map[string]string{},
	}
	for _, id := range slices.Sorted(maps.Keys(c.Profiles)) {
		d.Profiles = append(d.Profiles, c.Profiles[id])
	}
	for _, id := range slices.Sorted(maps.Keys(c.Groups)) {
		d.Groups = append(d.Groups, c.Groups[id])
	}
	for _, id := range slices.Sorted(maps.Keys(c.Pools)) {
		d.Pools = append(d.Pools, c.Pools[id])
	}
	for _, id := range slices.Sorted(maps.Keys(c.Machines)) {
		d.Machines = append(d.Machines, c.Machines[id])
	}
	for _, k := range profiles.Kinds {
		d.Templates[k] = map[string]string{}
		for name, text := range c.Templates[k] {
			d.Templates[k][name] = text
		}
	}
	return d
}

// DocumentError is a Document decoding error with the path of the object
// it is about ("groups[2]"), which its message starts with. It is an
// invalid.FieldError: invalid.FieldOf joins it with the field of the
// object's own error ("groups[2].selector.role").
type DocumentError = invalid.FieldError

// DecodeDocument parses a Document strictly (unknown fields are errors at
// every level), decoding each object with its own decoder, so objects are
// checked and normalized exactly as files of a catalog directory are. Two
// objects of a kind with the same id are an error. The result is not
// validated as a whole: call Compile.
func DecodeDocument(data []byte) (*Catalog, error) {
	var raw struct {
		Profiles  []json.RawMessage            `json:"profiles"`
		Groups    []json.RawMessage            `json:"groups"`
		Pools     []json.RawMessage            `json:"pools"`
		Machines  []json.RawMessage            `json:"machines"`
		Templates map[string]map[string]string `json:"templates"`
	}
	if err := strictjson.Decode(data, &raw); err != nil {
		return nil, err
	}
	c := New()
	seen := map[string]bool{}
	each := func(kind string, items []json.RawMessage, fn func(json.RawMessage) (string, error)) error {
		for i, item := range items {
			field := fmt.Sprintf("%s[%d]", kind, i)
			id, err := fn(item)
			if err != nil {
				return &DocumentError{Field: field, Err: err}
			}
			if seen[kind+"/"+id] {
				return &DocumentError{Field: field, Err: fmt.Errorf("%w: %s/%s given twice", ErrInvalid, kind, id)}
			}
			seen[kind+"/"+id] = true
		}
		return nil
	}
	err := each("profiles", raw.Profiles, func(b json.RawMessage) (string, error) {
		p, err := profiles.Decode(b)
		if err == nil {
			c.Profiles[p.ID] = p
			return p.ID, nil
		}
		return "", err
	})
	if err == nil {
		err = each("groups", raw.Groups, func(b json.RawMessage) (string, error) {
			g, err := groups.Decode(b)
			if err == nil {
				c.Groups[g.ID] = g
				return g.ID, nil
			}
			return "", err
		})
	}
	if err == nil {
		err = each("pools", raw.Pools, func(b json.RawMessage) (string, error) {
			p, err := ipam.Decode(b)
			if err == nil {
				c.Pools[p.Name] = p
				return p.Name, nil
			}
			return "", err
		})
	}
	if err == nil {
		err = each("machines", raw.Machines, func(b json.RawMessage) (string, error) {
			m, err := DecodeMachine(b)
			if err == nil {
				c.Machines[m.Name] = m
				return m.Name, nil
			}
			return "", err
		})
	}
	if err != nil {
		return nil, err
	}
	for kind, ts := range raw.Templates {
		k, err := profiles.ParseKind(kind)
		if err != nil {
			return nil, &DocumentError{Field: "templates." + kind, Err: fmt.Errorf("%w: %w", ErrInvalid, err)}
		}
		for name, text := range ts {
			c.Templates[k][name] = text
		}
	}
	return c, nil
}

// Merge copies every object of part into c, replacing objects of the same
// kind and id, and drops their recorded sources.
func (c *Catalog) Merge(part *Catalog) {
	for id, p := range part.Profiles {
		c.Profiles[id] = p
		c.Sources.Delete("profiles/" + id)
	}
	for id, g := range part.Groups {
		c.Groups[id] = g
		c.Sources.Delete("groups/" + id)
	}
	for id, p := range part.Pools {
		c.Pools[id] = p
		c.Sources.Delete("pools/" + id)
	}
	for id, m := range part.Machines {
		c.Machines[id] = m
		c.Sources.Delete("machines/" + id)
	}
	for kind, ts := range part.Templates {
		for name, text := range ts {
			c.Templates[kind][name] = text
			c.Sources.Delete(string(kind) + "/" + name)
		}
	}
}
