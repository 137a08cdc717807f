package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/provisiond/provisiond/admin"
	"github.com/provisiond/provisiond/groups"
)

// factFlags are the flags that name a machine: --mac, --uuid and labels,
// as -l key=value or as KEY=VALUE arguments.
type factFlags struct {
	mac, uuid string
	labels    multiFlag
}

func (f *factFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&f.mac, "mac", "", "the machine's `mac`")
	fs.StringVar(&f.uuid, "uuid", "", "the machine's SMBIOS `uuid`")
	fs.Var(&f.labels, "l", "a label as `key=value` (repeatable; KEY=VALUE arguments work too)")
}

func (f *factFlags) query(args []string) (url.Values, error) {
	q := url.Values{}
	if f.mac != "" {
		q.Set("mac", f.mac)
	}
	if f.uuid != "" {
		q.Set("uuid", f.uuid)
	}
	for _, l := range append(append([]string{}, f.labels...), args...) {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return nil, usagef("label %q: want key=value", l)
		}
		q.Set(k, v)
	}
	if len(q) == 0 {
		return nil, usagef("name the machine: --mac, --uuid or labels")
	}
	return q, nil
}

const selectUsage = `Usage: provisiond select --mac MAC [--uuid UUID] [KEY=VALUE ...] [-o table|json|yaml] [flags]

Shows which group, profile, pool and lease a machine with these facts
would get, and why every other group lost. Nothing is recorded.

Flags:
`

// cmdSelect implements `provisiond select`.
func cmdSelect(args []string, stdout, stderr io.Writer) int {
	var cfg clientConfig
	var ff factFlags
	fs := clientFlags("select", &cfg, true)
	ff.add(fs)
	all := fs.Bool("all", false, "list the groups that do not match too")
	fs.SetOutput(stderr)
	fs.Usage = flagUsage(fs, selectUsage)
	return runClient("select", stderr, func() error {
		pos, err := parseClient(fs, args)
		if err != nil {
			return err
		}
		q, err := ff.query(pos)
		if err != nil {
			return err
		}
		c, err := newClient(cfg)
		if err != nil {
			return err
		}
		resp, err := c.do(http.MethodGet, "/api/v1/select", q, nil, nil)
		if err != nil {
			return err
		}
		if cfg.Output != "table" {
			return printStructured(stdout, cfg.Output, resp.Body)
		}
		var res admin.SelectResult
		if err := json.Unmarshal(resp.Body, &res); err != nil {
			return err
		}
		printSelect(stdout, &res, *all)
		return nil
	})
}

func printSelect(w io.Writer, res *admin.SelectResult, all bool) {
	machine := "not registered"
	if res.Machine != "" {
		machine = "registered as " + res.Machine
	}
	fmt.Fprintf(w, "facts:    %s (%s)\n", groups.SelectorString(res.Facts), machine)
	if !res.Matched {
		fmt.Fprintf(w, "group:    none matches: every boot endpoint answers 404\n")
	} else {
		fmt.Fprintf(w, "group:    %s\nprofile:  %s\n", res.Group, res.Profile)
		if res.Pool != "" {
			lease := res.Lease.State
			switch res.Lease.State {
			case "preview":
				lease = res.Lease.Address + " (no lease yet: the address it would get now)"
			case "existing", "pinned":
				lease = res.Lease.Address + " (" + res.Lease.State + ")"
			}
			fmt.Fprintf(w, "pool:     %s\nlease:    %s\n", res.Pool, lease)
		}
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tSELECTOR\tVERDICT")
	hidden := 0
	for _, c := range res.Candidates {
		if !c.Matched && !all {
			hidden++
			continue
		}
		verdict := c.Reason
		if !c.Matched {
			verdict = "missing " + strings.Join(c.Missing, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Group, dash(groups.SelectorString(c.Selector)), verdict)
	}
	tw.Flush()
	if hidden+res.CandidatesOmitted > 0 {
		fmt.Fprintf(w, "(%d groups that do not match not shown; --all lists them)\n", hidden+res.CandidatesOmitted)
	}
}

const renderUsage = `Usage: provisiond render ENDPOINT --mac MAC [--uuid UUID] [KEY=VALUE ...] [flags]

Prints exactly what the boot ENDPOINT (ipxe, grub, ignition, cloud,
generic or metadata) would answer this machine, without recording a boot
and without creating a lease: a machine that has no lease yet is rendered
with the address it would get now (said on stderr).

Flags:
`

// cmdRender implements `provisiond render`.
func cmdRender(args []string, stdout, stderr io.Writer) int {
	var cfg clientConfig
	var ff factFlags
	fs := clientFlags("render", &cfg, false)
	ff.add(fs)
	serverURL := fs.String("server-url", "", "`URL` rendered as .server.url (default: the server's boot listener)")
	asJSON := fs.Bool("json", false, "metadata as JSON")
	fs.SetOutput(stderr)
	fs.Usage = flagUsage(fs, renderUsage)
	return runClient("render", stderr, func() error {
		pos, err := parseClient(fs, args)
		if err != nil {
			return err
		}
		if len(pos) < 1 {
			return usagef("want ENDPOINT (ipxe, grub, ignition, cloud, generic or metadata)")
		}
		q, err := ff.query(pos[1:])
		if err != nil {
			return err
		}
		c, err := newClient(cfg)
		if err != nil {
			return err
		}
		h := http.Header{}
		if *serverURL != "" {
			h.Set("X-Provisiond-Server-URL", *serverURL)
		}
		if *asJSON {
			h.Set("Accept", "application/json")
		}
		resp, err := c.do(http.MethodGet, "/api/v1/render/"+url.PathEscape(pos[0]), q, nil, h)
		if err != nil {
			return err
		}
		printWarnings(stderr, resp.Header)
		if resp.Header.Get("X-Provisiond-Lease") == "preview" {
			fmt.Fprintf(stderr, "note: no lease yet; rendered with %s, the address the machine would get now\n", resp.Header.Get("X-Provisiond-Address"))
		}
		_, err = stdout.Write(resp.Body)
		return err
	})
}
