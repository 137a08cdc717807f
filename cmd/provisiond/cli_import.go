package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/profiles"
)

const importUsage = `Usage: provisiond import-matchbox DIR [--out OUTDIR | --dry-run] [flags]

Converts a matchbox data directory (profiles/, groups/, ignition/, cloud/,
generic/) and reports every change it makes: ids filled from file names,
selector keys lowercased, macs normalized, unknown fields dropped, old
"cmdline" maps turned into args; groups that matchbox ignored (a selector
value that is not a string) or could not serve (a missing profile) are
skipped, and Container Linux Configs, which need converting to Butane by
hand, are reported and left out.

The result is applied to the server in one transaction (merged into its
catalog), or with --out written as a provisiond catalog directory.

Flags:
`

// cmdImport implements `provisiond import-matchbox`.
func cmdImport(args []string, stdout, stderr io.Writer) int {
	var cfg clientConfig
	fs := clientFlags("import-matchbox", &cfg, false)
	out := fs.String("out", "", "write the converted catalog to this `directory` instead of the server")
	dry := fs.Bool("dry-run", false, "validate on the server without changing anything")
	fs.SetOutput(stderr)
	fs.Usage = flagUsage(fs, importUsage)
	return runClient("import-matchbox", stderr, func() error {
		pos, err := parseClient(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("want DIR, a matchbox data directory")
		}
		c, report, err := importMatchbox(pos[0])
		if err != nil {
			return err
		}
		for _, line := range report {
			fmt.Fprintln(stdout, line)
		}
		fmt.Fprintf(stdout, "converted %d profiles, %d groups, %d templates; %d notes\n",
			len(c.Profiles), len(c.Groups), len(c.Templates["ignition"])+len(c.Templates["cloud"])+len(c.Templates["generic"]), len(report))
		if *out != "" {
			if _, _, err := catalog.Compile(c, nil, catalog.Options{}); err != nil {
				return fmt.Errorf("the converted catalog does not validate: %w", err)
			}
			if err := writeLayout(*out, c); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "wrote %s\n", *out)
			return nil
		}
		cl, err := newClient(cfg)
		if err != nil {
			return err
		}
		res, hdr, err := sendCatalog(cl, c, false, *dry, "")
		if err != nil {
			return err
		}
		printWarnings(stderr, hdr)
		printChanges(stdout, res)
		return nil
	})
}

var butaneVariant = regexp.MustCompile(`(?m)^variant:`)

// importMatchbox reads a matchbox data directory leniently and returns
// the provisiond catalog it converts to, with a note for every change.
func importMatchbox(dir string) (*catalog.Catalog, []string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, nil, err
	}
	if !st.IsDir() {
		return nil, nil, fmt.Errorf("%s: not a directory", dir)
	}
	c := catalog.New()
	var notes []string
	note := func(path, format string, args ...any) {
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			rel = path
		}
		notes = append(notes, rel+": "+fmt.Sprintf(format, args...))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		switch e.Name() {
		case "profiles", "groups", "ignition", "cloud", "generic":
		case "assets":
			note(filepath.Join(dir, e.Name()), "not imported: serve it with --assets-dir")
		default:
			if !strings.HasPrefix(e.Name(), ".") {
				note(filepath.Join(dir, e.Name()), "not part of a matchbox data directory; ignored")
			}
		}
	}

	// Templates first: profiles may have to drop a reference.
	dropped := map[string]string{} // kind/name -> why
	for _, kind := range profiles.Kinds {
		files(dir, string(kind), note, func(path, name string, data []byte) {
			text := string(data)
			if kind == profiles.KindIgnition {
				if profiles.IsRawIgnition(name) {
					if _, err := profiles.CheckIgnition(data); err != nil {
						note(path, "raw Ignition refused, not imported: %v", err)
						dropped["ignition/"+name] = "its raw Ignition is refused"
						return
					}
				} else if !butaneVariant.Match(data) {
					note(path, "a Container Linux Config (no variant): not imported; convert it to Butane (variant: flatcar, version: 1.0.0) and apply it")
					dropped["ignition/"+name] = "it is a Container Linux Config"
					return
				}
			}
			c.Templates[kind][name] = text
		})
	}
	files(dir, "profiles", note, func(path, name string, data []byte) {
		if !strings.HasSuffix(name, ".json") {
			note(path, "not a .json file; ignored")
			return
		}
		id := strings.TrimSuffix(name, ".json")
		p, ok := importProfile(path, id, data, func(f string, a ...any) { note(path, f, a...) })
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
				note(path, "%s_id %q removed: %s (its endpoint answers 404 until a template is added)", ref.kind, *ref.name, why)
				*ref.name = ""
			} else if _, ok := c.Templates[ref.kind][*ref.name]; !ok {
				note(path, "%s_id %q removed: no such template (matchbox answered 404)", ref.kind, *ref.name)
				*ref.name = ""
			}
		}
		c.Profiles[p.ID] = p
	})
	selectors := map[string]string{} // selector string -> group id
	files(dir, "groups", note, func(path, name string, data []byte) {
		if !strings.HasSuffix(name, ".json") {
			note(path, "not a .json file; ignored")
			return
		}
		g, ok := importGroup(path, strings.TrimSuffix(name, ".json"), data, func(f string, a ...any) { note(path, f, a...) })
		if !ok {
			return
		}
		if _, ok := c.Profiles[g.Profile]; !ok {
			note(path, "skipped: profile %q does not exist (matchbox answered 404 for these machines)", g.Profile)
			return
		}
		if other, dup := c.Groups[g.ID]; dup {
			note(path, "skipped: group id %q is used by another file too (%s)", g.ID, other.Name)
			return
		}
		key := fmt.Sprintf("%d|%s", len(g.Selector), g.SelectorString())
		if other, dup := selectors[key]; dup {
			note(path, "skipped: same selector {%s} as group %q (matchbox picked one of them at random)", g.SelectorString(), other)
			return
		}
		selectors[key] = g.ID
		c.Groups[g.ID] = g
	})
	sort.Strings(notes)
	return c, notes, nil
}

// files calls fn for each regular file of dir/sub, in name order.
func files(dir, sub string, note func(path, format string, args ...any), fn func(path, name string, data []byte)) {
	root := filepath.Join(dir, sub)
	entries, err := os.ReadDir(root)
	if err != nil {
		if !os.IsNotExist(err) {
			note(root, "%v", err)
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
			note(path, "%v", err)
			continue
		}
		if info.IsDir() {
			note(path, "a directory: matchbox ignores it, so does the import")
			continue
		}
		if info.Size() > catalog.MaxFileSize {
			note(path, "larger than %d bytes; not imported", catalog.MaxFileSize)
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			note(path, "%v", err)
			continue
		}
		fn(path, e.Name(), data)
	}
}

// importProfile converts a matchbox profile: the id is the file name, an
// old cmdline map becomes args, unknown fields are dropped.
func importProfile(path, id string, data []byte, note func(string, ...any)) (*profiles.Profile, bool) {
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
			for _, k := range sortedAny(cmdline) {
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
// selector keys are lowercased and macs normalized; a selector value that
// is not a string skips the group (matchbox ignored the whole group).
func importGroup(path, name string, data []byte, note func(string, ...any)) (*groups.Group, bool) {
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		note("skipped: %v", err)
		return nil, false
	}
	if id, _ := raw["id"].(string); id == "" {
		raw["id"] = name
		note("id %q filled in from the file name", name)
	}
	if sel, ok := raw["selector"].(map[string]any); ok {
		for _, k := range sortedAny(sel) {
			v, isString := sel[k].(string)
			if !isString {
				note("skipped: selector %q is %v, not a string: matchbox ignored this whole group", k, sel[k])
				return nil, false
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
					note("skipped: selector mac: %v", err)
					return nil, false
				}
				if mac != v {
					note("selector mac %q normalized to %q", v, mac)
					sel[key] = mac
				}
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
		note("skipped: %v", err)
		return nil, false
	}
	return g, true
}

func sortedAny(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
