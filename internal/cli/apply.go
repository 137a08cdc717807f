package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
)

const applyUsage = `Usage: provisiond apply -f FILE|DIR [-f ...] [--prune] [--dry-run] [flags]

Sends catalog objects to the server in one transaction: all of them land,
or none does (a group and the profile it names can be applied together).
A DIR is a matchbox-layout catalog (profiles/, groups/, ignition/, cloud/,
generic/, pools/, machines/). A FILE is one object, whose kind is its
directory's name (groups/web.json) or --kind, or a whole catalog as
'provisiond get catalog -o json' prints it.

Objects are created or replaced; with --prune, the catalog becomes exactly
what was given and every other object is deleted. A prune that would drop
every group, or release the leases of machines it no longer registers, is
refused (listing them) unless --allow-release is given.

Flags:
`

// Apply is `provisiond apply`.
func Apply(args []string, stdout, stderr io.Writer) int {
	var cfg ClientConfig
	fs := clientFlags("apply", &cfg, true, stderr, applyUsage)
	var files multiFlag
	fs.Var(&files, "f", "`FILE or DIR` to apply (repeatable)")
	prune := fs.Bool("prune", false, "replace the whole catalog: delete every object not given")
	dry := fs.Bool("dry-run", false, "validate on the server without changing anything")
	allowRelease := fs.Bool("allow-release", false, "with --prune: release the leases of machines no longer registered, or drop every group, on purpose")
	kind := fs.String("kind", "", "`kind` of a single FILE: profile, group, pool, machine, ignition, cloud or generic")
	ifMatch := fs.String("if-match", "", "apply only if the catalog's ETag is still `etag` (the etag of the last apply -o json)")
	return Exit(stderr, "apply", func() error {
		pos, err := parseClient(fs, args)
		if err != nil {
			return err
		}
		if len(pos) > 0 || len(files) == 0 {
			return Usagef("want -f FILE|DIR (provisiond apply --help)")
		}
		if *allowRelease && !*prune {
			return Usagef("--allow-release goes with --prune: a merge deletes nothing, so releases nothing")
		}
		all := catalog.New()
		for _, f := range files {
			part, err := readObjects(f, *kind)
			if err != nil {
				return err
			}
			all.Merge(part)
		}
		c, err := newClient(cfg)
		if err != nil {
			return err
		}
		res, hdr, err := sendCatalogAllow(c, all, *prune, *dry, *allowRelease, *ifMatch)
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusConflict && strings.Contains(ae.errorBody.Error, "allow_release=true") {
			return fmt.Errorf("%w\n(to do it on purpose: provisiond apply --prune --allow-release)", err)
		}
		if err != nil {
			return err
		}
		printWarnings(stderr, hdr)
		if cfg.Output != "table" {
			b, _ := json.Marshal(res)
			return printStructured(stdout, cfg.Output, b)
		}
		printChanges(stdout, res)
		return nil
	}())
}

// sendCatalog POSTs (merge) or PUTs (prune) c to /api/v1/catalog.
func sendCatalog(c *Client, cat *catalog.Catalog, prune, dry bool, ifMatch string) (*catalogChange, http.Header, error) {
	return sendCatalogAllow(c, cat, prune, dry, false, ifMatch)
}

// sendCatalogAllow is sendCatalog; allowRelease sends allow_release=true,
// the operator's consent to a prune that releases registered machines'
// leases or drops every group.
func sendCatalogAllow(c *Client, cat *catalog.Catalog, prune, dry, allowRelease bool, ifMatch string) (*catalogChange, http.Header, error) {
	body, err := json.Marshal(cat.Document())
	if err != nil {
		return nil, nil, err
	}
	method, q, h := http.MethodPost, url.Values{}, http.Header{}
	if prune {
		method = http.MethodPut
	}
	if dry {
		q.Set("dry_run", "true")
	}
	if allowRelease {
		q.Set("allow_release", "true")
	}
	if ifMatch != "" {
		h.Set("If-Match", ifMatch)
	}
	resp, err := c.do(method, "/api/v1/catalog", q, body, h)
	if err != nil {
		return nil, nil, err
	}
	var res catalogChange
	if err := json.Unmarshal(resp.Body, &res); err != nil {
		return nil, nil, err
	}
	return &res, resp.Header, nil
}

func printChanges(w io.Writer, res *catalogChange) {
	suffix := ""
	if res.DryRun {
		suffix = " (dry run)"
	}
	for _, l := range []struct {
		verb string
		refs []string
	}{{"created", res.Created}, {"updated", res.Updated}, {"deleted", res.Deleted}} {
		for _, ref := range l.refs {
			fmt.Fprintf(w, "%s %s%s\n", l.verb, ref, suffix)
		}
	}
	if res.Empty() {
		fmt.Fprintf(w, "no changes%s\n", suffix)
	}
}

// readObjects reads a catalog directory, a catalog document or one object
// file.
func readObjects(path, kind string) (*catalog.Catalog, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		c, err := catalog.LoadDir(path)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	if st.Size() > catalog.MaxFileSize*8 {
		return nil, fmt.Errorf("%s: %d bytes, too large", path, st.Size())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(path)
	if kind == "" {
		kind = filepath.Base(filepath.Dir(path))
		if _, ok := kinds[kind]; !ok && !isTemplateKind(kind) {
			kind = sniffKind(data)
		}
	}
	c := catalog.New()
	fail := func(err error) (*catalog.Catalog, error) { return nil, fmt.Errorf("%s: %w", path, err) }
	id := strings.TrimSuffix(name, ".json")
	switch kind {
	case "catalog":
		c, err := catalog.DecodeDocument(data)
		if err != nil {
			return fail(err)
		}
		return c, nil
	case "profile", "profiles":
		p, err := profiles.Decode(fillID(data, "id", id))
		if err != nil {
			return fail(err)
		}
		c.Profiles[p.ID] = p
	case "group", "groups":
		g, err := groups.Decode(fillID(data, "id", id))
		if err != nil {
			return fail(err)
		}
		c.Groups[g.ID] = g
	case "pool", "pools":
		p, err := ipam.Decode(data)
		if err != nil {
			return fail(err)
		}
		c.Pools[p.Name] = p
	case "machine", "machines":
		m, err := catalog.DecodeMachine(data)
		if err != nil {
			return fail(err)
		}
		c.Machines[m.Name] = m
	case "ignition", "cloud", "generic":
		c.Templates[profiles.Kind(kind)][name] = string(data)
	default:
		return nil, Usagef("%s: cannot tell what kind of object this is: put it in a profiles/, groups/, pools/, machines/, ignition/, cloud/ or generic/ directory, or give --kind", path)
	}
	return c, nil
}

func isTemplateKind(s string) bool {
	_, err := profiles.ParseKind(s)
	return err == nil
}

// sniffKind guesses a JSON file's kind from its fields.
func sniffKind(data []byte) string {
	var head map[string]json.RawMessage
	if json.Unmarshal(data, &head) != nil {
		return ""
	}
	has := func(k string) bool { _, ok := head[k]; return ok }
	switch {
	case has("templates") || has("groups") || has("profiles") || has("pools") || has("machines"):
		return "catalog"
	case has("cidr"):
		return "pool"
	case has("boot") || has("ignition_id"):
		return "profile"
	case has("profile"):
		return "group"
	case has("name") && (has("mac") || has("uuid")):
		return "machine"
	}
	return ""
}

// fillID sets the id field from the file name when absent, as a catalog
// directory does.
func fillID(data []byte, field, id string) []byte {
	var head map[string]json.RawMessage
	if json.Unmarshal(data, &head) != nil || head == nil {
		return data // not an object: the decoder says why
	}
	if _, ok := head[field]; ok {
		return data
	}
	head[field], _ = json.Marshal(id)
	out, _ := json.Marshal(head)
	return out
}
