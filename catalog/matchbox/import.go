package matchbox

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/profiles"
)

// Result is a converted matchbox data directory.
type Result struct {
	// Catalog is what the directory converts to.
	Catalog *catalog.Catalog
	// Notes say, one line each, what the conversion changed or left out,
	// as "FILE: what" with FILE relative to the directory; sorted.
	Notes []string
	// Skipped are the groups left out, in file name order.
	Skipped []SkippedGroup
}

// SkippedGroup is a group that could not be converted.
type SkippedGroup struct {
	// File is the group's file, relative to the directory (groups/x.json).
	File string
	// ID is the group's id, or its file name without .json.
	ID string
	// Reason says why it was left out.
	Reason string
	// FallsTo is the converted group that a machine with exactly this
	// group's selector matches instead; empty when none does (such a
	// machine is answered 404, as a group without a profile was by
	// matchbox).
	FallsTo string
}

// Moves returns the skipped groups whose machines would be answered by
// another group.
func (r *Result) Moves() []SkippedGroup {
	var out []SkippedGroup
	for _, s := range r.Skipped {
		if s.FallsTo != "" {
			out = append(out, s)
		}
	}
	return out
}

// FallthroughError refuses a conversion that would move machines from a
// group left out to another group.
type FallthroughError struct {
	Moves []SkippedGroup
}

func (e *FallthroughError) Error() string {
	var b strings.Builder
	if len(e.Moves) == 1 {
		b.WriteString("a group cannot be converted and its machines would fall to another group:")
	} else {
		fmt.Fprintf(&b, "%d groups cannot be converted and their machines would fall to other groups:", len(e.Moves))
	}
	for _, m := range e.Moves {
		fmt.Fprintf(&b, "\n  %s: group %q is left out (%s); its machines would fall to group %q", m.File, m.ID, m.Reason, m.FallsTo)
	}
	return b.String()
}

// Check returns a *FallthroughError when a group left out would send its
// machines to another group, nil otherwise.
func (r *Result) Check() error {
	if moves := r.Moves(); len(moves) > 0 {
		return &FallthroughError{Moves: moves}
	}
	return nil
}

var butaneVariant = regexp.MustCompile(`(?m)^variant:`)

// Import reads the matchbox data directory dir leniently and returns the
// provisiond catalog it converts to, with a note for every change. An
// error is returned only when dir cannot be read at all.
func Import(dir string) (*Result, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	im := &importer{dir: dir, res: &Result{Catalog: catalog.New()}}
	for _, e := range entries {
		switch e.Name() {
		case "profiles", "groups", "ignition", "cloud", "generic":
		case "assets":
			im.note(filepath.Join(dir, e.Name()), "not imported: serve it with --assets-dir")
		default:
			if !strings.HasPrefix(e.Name(), ".") {
				im.note(filepath.Join(dir, e.Name()), "not part of a matchbox data directory; ignored")
			}
		}
	}
	dropped := im.templates() // first: profiles may have to drop a reference
	im.profiles(dropped)
	im.groups()
	im.fallthroughs()
	slices.Sort(im.res.Notes)
	return im.res, nil
}

type importer struct {
	dir string
	res *Result
	// selectors of the skipped groups and the index of their notes, for
	// fallthroughs.
	skippedSel  []map[string]string
	skippedNote []int
}

func (im *importer) rel(path string) string {
	rel, err := filepath.Rel(im.dir, path)
	if err != nil {
		return path
	}
	return rel
}

func (im *importer) note(path, format string, args ...any) {
	im.res.Notes = append(im.res.Notes, im.rel(path)+": "+fmt.Sprintf(format, args...))
}

// templates reads ignition/, cloud/ and generic/ and returns the
// templates left out (kind/name -> why).
func (im *importer) templates() map[string]string {
	c := im.res.Catalog
	dropped := map[string]string{}
	for _, kind := range profiles.Kinds {
		im.files(string(kind), func(path, name string, data []byte) {
			if kind == profiles.KindIgnition {
				if profiles.IsRawIgnition(name) {
					if _, err := profiles.CheckIgnition(data); err != nil {
						im.note(path, "raw Ignition refused, not imported: %v", err)
						dropped["ignition/"+name] = "its raw Ignition is refused"
						return
					}
				} else if !butaneVariant.Match(data) {
					im.note(path, "a Container Linux Config (no variant): not imported; convert it to Butane (variant: flatcar, version: 1.0.0) and apply it")
					dropped["ignition/"+name] = "it is a Container Linux Config"
					return
				}
			}
			c.Templates[kind][name] = string(data)
		})
	}
	return dropped
}

func (im *importer) profiles(dropped map[string]string) {
	c := im.res.Catalog
	im.files("profiles", func(path, name string, data []byte) {
		if !strings.HasSuffix(name, ".json") {
			im.note(path, "not a .json file; ignored")
			return
		}
		id := strings.TrimSuffix(name, ".json")
		p, ok := importProfile(id, data, func(f string, a ...any) { im.note(path, f, a...) })
		if !ok {
			return
		}
		for _, ref := range []struct {
			kind profiles.Kind
			name *string
		}{{profiles.KindIgnition, &p.IgnitionID}, {profiles.KindCloud, &p.CloudID}, {profiles.KindGeneric, &p.GenericID}} {
			if *ref.name == "" {
				continue
			}
			key := string(ref.kind) + "/" + *ref.name
			if why, gone := dropped[key]; gone {
				im.note(path, "%s_id %q removed: %s (its endpoint answers 404 until a template is added)", ref.kind, *ref.name, why)
				*ref.name = ""
			} else if _, ok := c.Templates[ref.kind][*ref.name]; !ok {
				im.note(path, "%s_id %q removed: no such template (matchbox answered 404)", ref.kind, *ref.name)
				*ref.name = ""
			}
		}
		c.Profiles[p.ID] = p
	})
}

func (im *importer) groups() {
	c := im.res.Catalog
	selectors := map[string]string{} // selector string -> group id
	im.files("groups", func(path, name string, data []byte) {
		if !strings.HasSuffix(name, ".json") {
			im.note(path, "not a .json file; ignored")
			return
		}
		id := strings.TrimSuffix(name, ".json")
		var sel map[string]string
		skip := func(reason string) {
			im.note(path, "skipped: %s", reason)
			im.res.Skipped = append(im.res.Skipped, SkippedGroup{File: im.rel(path), ID: id, Reason: reason})
			im.skippedSel = append(im.skippedSel, sel)
			im.skippedNote = append(im.skippedNote, len(im.res.Notes)-1)
		}
		g, sel, why := importGroup(id, data, func(f string, a ...any) { im.note(path, f, a...) })
		if g == nil {
			skip(why)
			return
		}
		id = g.ID
		if _, ok := c.Profiles[g.Profile]; !ok {
			skip(fmt.Sprintf("profile %q does not exist; matchbox answered 404 for these machines", g.Profile))
			return
		}
		if _, dup := c.Groups[g.ID]; dup {
			skip(fmt.Sprintf("group id %q is used by another file too", g.ID))
			return
		}
		key := fmt.Sprintf("%d|%s", len(g.Selector), g.SelectorString())
		if other, dup := selectors[key]; dup {
			skip(fmt.Sprintf("same selector {%s} as group %q (matchbox picked one of them at random)", g.SelectorString(), other))
			return
		}
		selectors[key] = g.ID
		c.Groups[g.ID] = g
	})
}

// fallthroughs finds, for each skipped group, the converted group that a
// machine with exactly its selector's labels matches.
func (im *importer) fallthroughs() {
	if len(im.res.Skipped) == 0 {
		return
	}
	var gs []*groups.Group
	for _, id := range slices.Sorted(maps.Keys(im.res.Catalog.Groups)) {
		gs = append(gs, im.res.Catalog.Groups[id])
	}
	ix, err := groups.NewIndex(gs)
	if err != nil {
		// Converted groups never share a selector (see groups); should
		// the index still refuse, say so on every skipped group.
		for i := range im.res.Skipped {
			im.res.Skipped[i].FallsTo = "(unknown: " + err.Error() + ")"
		}
		return
	}
	for i, sel := range im.skippedSel {
		if g := ix.Select(groups.Labels(sel)); g != nil {
			im.res.Skipped[i].FallsTo = g.ID
			im.res.Notes[im.skippedNote[i]] += fmt.Sprintf("; its machines would fall to group %q", g.ID)
		}
	}
}

// files calls fn for each regular file of dir/sub, in name order.
func (im *importer) files(sub string, fn func(path, name string, data []byte)) {
	root := filepath.Join(im.dir, sub)
	entries, err := os.ReadDir(root)
	if err != nil {
		if !os.IsNotExist(err) {
			im.note(root, "%v", err)
		}
		return
	}
	for _, e := range entries {
		path := filepath.Join(root, e.Name())
		if strings.HasPrefix(e.Name(), ".") || strings.HasSuffix(e.Name(), "~") {
			continue
		}
		info, err := os.Stat(path)
		if err != nil {
			im.note(path, "%v", err)
			continue
		}
		if info.IsDir() {
			im.note(path, "a directory: matchbox ignores it, so does the import")
			continue
		}
		if info.Size() > catalog.MaxFileSize {
			im.note(path, "larger than %d bytes; not imported", catalog.MaxFileSize)
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			im.note(path, "%v", err)
			continue
		}
		fn(path, e.Name(), data)
	}
}

// importProfile converts a matchbox profile: the id is the file name, an
// old cmdline map becomes args, unknown fields are dropped.
func importProfile(id string, data []byte, note func(string, ...any)) (*profiles.Profile, bool) {
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		note("skipped: %v", err)
		return nil, false
	}
	if got, _ := raw["id"].(string); got != id {
		if got == "" {
			note("id %q filled in from the file name", id)
		} else {
			note("id %q replaced by the file name %q (matchbox finds profiles by file name)", got, id)
		}
	}
	raw["id"] = id
	if boot, ok := raw["boot"].(map[string]any); ok {
		if cmdline, ok := boot["cmdline"].(map[string]any); ok {
			args, _ := boot["args"].([]any)
			for _, k := range slices.Sorted(maps.Keys(cmdline)) {
				v := fmt.Sprint(cmdline[k])
				if v == "" {
					args = append(args, k)
				} else {
					args = append(args, k+"="+v)
				}
			}
			boot["args"] = args
			delete(boot, "cmdline")
			note("boot.cmdline converted to boot.args")
		}
		for k := range boot {
			if k != "kernel" && k != "initrd" && k != "args" {
				note("unknown field boot.%s dropped", k)
				delete(boot, k)
			}
		}
	}
	for k := range raw {
		switch k {
		case "id", "name", "boot", "ignition_id", "cloud_id", "generic_id":
		default:
			note("unknown field %q dropped (matchbox ignored it)", k)
			delete(raw, k)
		}
	}
	b, _ := json.Marshal(raw)
	p, err := profiles.Decode(b)
	if err != nil {
		note("skipped: %v", err)
		return nil, false
	}
	return p, true
}

// importGroup converts a matchbox group: a missing id is the file name,
// selector keys are lowercased and macs normalized. It returns the group,
// or nil and why it cannot be converted (a selector value that is not a
// string: matchbox ignored the whole group). The selector is returned
// either way, values as text, for finding where the group's machines go.
func importGroup(name string, data []byte, note func(string, ...any)) (*groups.Group, map[string]string, string) {
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, nil, err.Error()
	}
	if id, _ := raw["id"].(string); id == "" {
		raw["id"] = name
		note("id %q filled in from the file name", name)
	}
	text := map[string]string{}
	sel, _ := raw["selector"].(map[string]any)
	for k, v := range sel {
		text[strings.ToLower(k)] = fmt.Sprint(v)
		if mac, err := groups.ParseMAC(fmt.Sprint(v)); err == nil && strings.ToLower(k) == "mac" {
			text["mac"] = mac
		}
	}
	for _, k := range slices.Sorted(maps.Keys(sel)) {
		v, isString := sel[k].(string)
		if !isString {
			return nil, text, fmt.Sprintf("selector %q is %v, not a string: matchbox ignored this whole group", k, sel[k])
		}
		key := strings.ToLower(k)
		if key != k {
			note("selector key %q lowercased to %q", k, key)
			delete(sel, k)
			sel[key] = v
		}
		if key == "mac" {
			mac, err := groups.ParseMAC(v)
			if err != nil {
				return nil, text, "selector mac: " + err.Error()
			}
			if mac != v {
				note("selector mac %q normalized to %q", v, mac)
				sel[key] = mac
			}
		}
	}
	for k := range raw {
		switch k {
		case "id", "name", "profile", "selector", "metadata":
		default:
			note("unknown field %q dropped (matchbox ignored it)", k)
			delete(raw, k)
		}
	}
	b, _ := json.Marshal(raw)
	g, err := groups.Decode(b)
	if err != nil {
		return nil, text, err.Error()
	}
	return g, text, ""
}
