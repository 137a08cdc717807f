package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/provisiond/provisiond/groups"
)

const describeUsage = `Usage: provisiond describe machine NAME|MAC [-o table|json|yaml] [flags]

Shows one machine in full: its registration (name, labels, pinned
addresses, BMC type), its state, its hardware facts, the group and profile
it was last served (or would get, when it has not booted yet), its leases,
its state timeline and its recent events (boots, reports, operators' marks,
BMC operations), oldest first. NAME is a registered machine's name; a MAC (or SMBIOS UUID)
finds registered and discovered machines alike.

Flags:
`

// Describe is `provisiond describe`.
func Describe(args []string, stdout, stderr io.Writer) int {
	var cfg ClientConfig
	fs := clientFlags("describe", &cfg, true, stderr, describeUsage)
	return Exit(stderr, "describe", func() error {
		pos, err := parseClient(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 2 {
			return Usagef("want machine NAME|MAC (provisiond describe --help)")
		}
		if kind, err := kindOf(pos[0]); err != nil {
			return err
		} else if kind != "machines" {
			return Usagef("describe %s: only machines are described; 'provisiond get %s NAME -o yaml' shows the others", pos[0], kind)
		}
		c, err := newClient(cfg)
		if err != nil {
			return err
		}
		m, raw, err := findMachine(c, pos[1])
		if err != nil {
			return err
		}
		if cfg.Output != "table" {
			return printStructured(stdout, cfg.Output, raw)
		}
		var sel *selectResult
		if m.Group == "" && (m.MAC != "" || m.UUID != "") {
			sel = wouldGet(c, m)
		}
		printMachine(stdout, m, sel)
		return nil
	}())
}

// findMachine finds a machine by registered name, or by mac or uuid among
// all machines (the API finds only discovered ones by mac).
func findMachine(c *Client, id string) (*machineView, []byte, error) {
	resp, err := c.do(http.MethodGet, "/api/v1/machines/"+url.PathEscape(id), nil, nil, nil)
	var ae *apiError
	if err == nil {
		var m machineView
		if err := json.Unmarshal(resp.Body, &m); err != nil {
			return nil, nil, err
		}
		return &m, resp.Body, nil
	}
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		return nil, nil, err
	}
	mac, _ := groups.ParseMAC(id)
	uuid, _ := groups.ParseUUID(id)
	if mac == "" && uuid == "" {
		return nil, nil, fmt.Errorf("machine %s: no registered machine has this name (a MAC or UUID finds any machine)", id)
	}
	all, err := c.do(http.MethodGet, "/api/v1/machines", nil, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	var ms []json.RawMessage
	if err := json.Unmarshal(all.Body, &ms); err != nil {
		return nil, nil, err
	}
	for _, raw := range ms {
		var m machineView
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, nil, err
		}
		if (mac != "" && m.MAC == mac) || (uuid != "" && m.UUID == uuid) {
			return &m, raw, nil
		}
	}
	return nil, nil, fmt.Errorf("machine %s: neither registered nor seen", id)
}

// wouldGet asks select what a machine that has not booted would get; nil
// when it cannot tell.
func wouldGet(c *Client, m *machineView) *selectResult {
	q := url.Values{}
	if m.MAC != "" {
		q.Set("mac", m.MAC)
	}
	if m.UUID != "" {
		q.Set("uuid", m.UUID)
	}
	resp, err := c.do(http.MethodGet, "/api/v1/select", q, nil, nil)
	if err != nil {
		return nil
	}
	var res selectResult
	if json.Unmarshal(resp.Body, &res) != nil {
		return nil
	}
	return &res
}

func printMachine(w io.Writer, m *machineView, sel *selectResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	field := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	name := m.Name + " (registered)"
	if !m.Registered {
		name = "- (discovered, not registered)"
	}
	field("Name", name)
	field("MAC", dash(m.MAC))
	field("UUID", dash(m.UUID))
	field("Labels", dash(groups.SelectorString(m.Labels)))
	field("State", machineState(*m))
	if hw := hardware(m.Hardware); hw != "" {
		field("Hardware", hw)
	}
	if m.BMC != "" {
		field("BMC", m.BMC)
	}
	switch {
	case m.Group != "":
		field("Group", m.Group+" (last served)")
		field("Profile", dash(m.Profile))
	case sel != nil && sel.Matched:
		field("Group", sel.Group+" (would get; not served yet)")
		field("Profile", sel.Profile)
	case sel != nil:
		field("Group", "none matches: every boot endpoint answers 404")
	default:
		field("Group", "-")
	}
	field("Leases", dash(pairs(m.Leases)))
	if len(m.Pins) > 0 {
		field("Pinned", pairs(m.Pins))
	}
	field("First seen", seen(m.FirstSeen))
	last := seen(m.LastSeen)
	if m.LastEndpoint != "" {
		last += " (" + m.LastEndpoint + ")"
	}
	field("Last seen", last)
	tw.Flush()
	fmt.Fprintln(w)
	if len(m.Changes) > 0 || m.State != "" {
		printTimeline(w, m.Changes)
		fmt.Fprintln(w)
	}
	if len(m.Events) == 0 {
		fmt.Fprintln(w, "Events: none")
		return
	}
	fmt.Fprintln(w, "Events:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  TIME\tENDPOINT\tSTATUS\tGROUP\tPROFILE\tREMOTE\tNOTE")
	events := slices.Clone(m.Events)
	slices.SortStableFunc(events, func(a, b eventView) int { return a.Time.Compare(b.Time) })
	for _, e := range events {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format("2006-01-02T15:04:05Z"), e.Endpoint, e.Status, dash(e.Group), dash(e.Profile), dash(e.Remote), eventNote(e))
	}
	tw.Flush()
}

// pairs formats a map as sorted k=v pairs.
func pairs(m map[string]string) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+m[k])
	}
	return strings.Join(out, " ")
}
