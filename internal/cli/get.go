package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
)

// kinds maps the names a user may type to the API collection.
var kinds = map[string]string{
	"profile": "profiles", "profiles": "profiles",
	"group": "groups", "groups": "groups",
	"pool": "pools", "pools": "pools",
	"machine": "machines", "machines": "machines",
	"lease": "leases", "leases": "leases",
	"template": "templates", "templates": "templates",
	"catalog": "catalog",
}

// kindNames are the collections, for suggestions and completion.
var kindNames = []string{"profiles", "groups", "pools", "machines", "leases", "templates", "catalog"}

func kindOf(s string) (string, error) {
	if k, ok := kinds[strings.ToLower(s)]; ok {
		return k, nil
	}
	msg := fmt.Sprintf("unknown kind %q: want profiles, groups, pools, machines, leases, templates or catalog", s)
	if c := closest(strings.ToLower(s), kindNames); c != "" {
		msg += "; did you mean " + c + "?"
	}
	return "", Usagef("%s", msg)
}

const getUsage = `Usage: provisiond get KIND [NAME] [-o table|json|yaml] [flags]

KIND is profiles, groups, pools, machines, leases, templates or catalog.
A template is named KIND/NAME (ignition/worker.yaml) and printed as text.
leases take --pool to list one pool.

Flags:
`

// Get is `provisiond get`.
func Get(args []string, stdout, stderr io.Writer) int {
	var cfg ClientConfig
	fs := clientFlags("get", &cfg, true, stderr, getUsage)
	pool := fs.String("pool", "", "leases of this `pool` only")
	return Exit(stderr, "get", func() error {
		pos, err := parseClient(fs, args)
		if err != nil {
			return err
		}
		if len(pos) < 1 || len(pos) > 2 {
			return Usagef("want KIND [NAME] (provisiond get --help)")
		}
		kind, err := kindOf(pos[0])
		if err != nil {
			return err
		}
		if len(pos) == 2 && (kind == "leases" || kind == "catalog") {
			return Usagef("get %s takes no NAME", kind)
		}
		c, err := newClient(cfg)
		if err != nil {
			return err
		}
		return getObjects(c, stdout, cfg.Output, kind, pos[1:], *pool)
	}())
}

// getObjects prints kind (one object when name is given) in format.
func getObjects(c *Client, stdout io.Writer, format Output, kind string, name []string, pool string) error {
	path, q := "/api/v1/"+kind, url.Values{}
	if len(name) == 1 {
		path += "/" + escapePath(name[0])
	}
	if kind == "leases" && pool != "" {
		q.Set("pool", pool)
	}
	resp, err := c.do(http.MethodGet, path, q, nil, nil)
	if err != nil {
		return err
	}
	if kind == "templates" && len(name) == 1 {
		_, err := stdout.Write(resp.Body) // the text itself
		return err
	}
	if format != "table" {
		return printStructured(stdout, format, resp.Body)
	}
	if kind == "catalog" {
		return printStructured(stdout, "yaml", resp.Body)
	}
	body := resp.Body
	if len(name) == 1 {
		body = append(append([]byte("["), body...), ']')
	}
	return printTable(stdout, kind, body)
}

// escapePath escapes each segment of a NAME that may hold a slash
// (ignition/worker.yaml, services/10.0.0.5).
func escapePath(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// printTable prints a JSON list of objects of kind as an aligned table.
func printTable(w io.Writer, kind string, list []byte) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	row := func(cols ...string) { fmt.Fprintln(tw, strings.Join(cols, "\t")) }
	switch kind {
	case "profiles":
		var ps []profiles.Profile
		if err := json.Unmarshal(list, &ps); err != nil {
			return err
		}
		row("ID", "NAME", "KERNEL", "IGNITION", "CLOUD", "GENERIC")
		for _, p := range ps {
			row(p.ID, dash(p.Name), dash(p.Boot.Kernel), dash(p.IgnitionID), dash(p.CloudID), dash(p.GenericID))
		}
	case "groups":
		var gs []groups.Group
		if err := json.Unmarshal(list, &gs); err != nil {
			return err
		}
		row("ID", "PROFILE", "POOL", "SELECTOR")
		for _, g := range gs {
			row(g.ID, g.Profile, dash(g.Pool), dash(g.Selector.String()))
		}
	case "pools":
		var ps []ipam.Pool
		if err := json.Unmarshal(list, &ps); err != nil {
			return err
		}
		row("NAME", "CIDR", "RANGE", "GATEWAY", "RESERVED")
		for _, p := range ps {
			row(p.Name, p.CIDR, p.Start+"-"+p.End, dash(p.Gateway), dash(strings.Join(p.Reserved, ",")))
		}
	case "machines":
		var ms []machineView
		if err := json.Unmarshal(list, &ms); err != nil {
			return err
		}
		row("NAME", "MAC", "STATE", "LAST SEEN", "GROUP", "ADDRESS")
		for _, m := range ms {
			row(machineName(m), dash(m.MAC), machineState(m), seen(m.LastSeen), dash(m.Group), dash(addresses(m.Leases)))
		}
	case "leases":
		var ls []leaseView
		if err := json.Unmarshal(list, &ls); err != nil {
			return err
		}
		row("POOL", "ADDRESS", "MAC", "MACHINE", "PINNED", "CREATED")
		for _, l := range ls {
			row(l.Pool, l.Address.String(), l.MAC, dash(l.Machine), fmt.Sprint(l.Pinned), time.Unix(l.Created, 0).UTC().Format(time.RFC3339))
		}
	case "templates":
		var ts []templateInfo
		if err := json.Unmarshal(list, &ts); err != nil {
			return err
		}
		row("KIND", "NAME", "SIZE")
		for _, t := range ts {
			row(string(t.Kind), t.Name, fmt.Sprint(t.Size))
		}
	}
	return nil
}

func machineName(m machineView) string {
	if !m.Registered {
		return "(discovered)"
	}
	return m.Name
}

func machineState(m machineView) string {
	if m.State == "" {
		return "registered"
	}
	return string(m.State)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func seen(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func addresses(leases map[string]string) string {
	var out []string
	for _, a := range leases {
		out = append(out, a)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

const deleteUsage = `Usage: provisiond delete KIND NAME [flags]

KIND is profile, group, pool, machine, template (NAME is KIND/NAME, as
ignition/worker.yaml) or lease (NAME is POOL/ADDRESS: releases the lease).
Deleting an object that others still name is refused (409).

Flags:
`

// Delete is `provisiond delete`.
func Delete(args []string, stdout, stderr io.Writer) int {
	var cfg ClientConfig
	fs := clientFlags("delete", &cfg, false, stderr, deleteUsage)
	ifMatch := fs.String("if-match", "", "delete only if the object's ETag is still `etag`")
	return Exit(stderr, "delete", func() error {
		pos, err := parseClient(fs, args)
		if err != nil {
			return err
		}
		if len(pos) == 3 && (pos[0] == "lease" || pos[0] == "leases") {
			pos = []string{pos[0], pos[1] + "/" + pos[2]} // delete lease POOL ADDRESS
		}
		if len(pos) != 2 {
			return Usagef("want KIND NAME (provisiond delete --help)")
		}
		kind, err := kindOf(pos[0])
		if err != nil {
			return err
		}
		if kind == "catalog" {
			return Usagef("the catalog cannot be deleted; apply --prune an empty one")
		}
		c, err := newClient(cfg)
		if err != nil {
			return err
		}
		h := http.Header{}
		if *ifMatch != "" {
			h.Set("If-Match", *ifMatch)
		}
		resp, err := c.do(http.MethodDelete, "/api/v1/"+kind+"/"+escapePath(pos[1]), nil, nil, h)
		if err != nil {
			return err
		}
		printWarnings(stderr, resp.Header)
		verb := "deleted"
		if kind == "leases" {
			verb = "released"
		}
		fmt.Fprintf(stdout, "%s %s/%s\n", verb, kind, pos[1])
		return nil
	}())
}

const leasesUsage = `Usage: provisiond leases [--pool POOL] [-o table|json|yaml] [flags]

Lists every lease (pool, address, machine, pinned or automatic, created),
or those of one pool. The same as 'provisiond get leases'.

Flags:
`

// Leases is `provisiond leases`.
func Leases(args []string, stdout, stderr io.Writer) int {
	var cfg ClientConfig
	fs := clientFlags("leases", &cfg, true, stderr, leasesUsage)
	pool := fs.String("pool", "", "leases of this `pool` only")
	return Exit(stderr, "leases", func() error {
		pos, err := parseClient(fs, args)
		if err != nil {
			return err
		}
		if len(pos) > 0 {
			return Usagef("unexpected argument %q: leases takes flags only (--pool POOL)", pos[0])
		}
		c, err := newClient(cfg)
		if err != nil {
			return err
		}
		return getObjects(c, stdout, cfg.Output, "leases", nil, *pool)
	}())
}
