package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/provisiond/provisiond/bmc"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/lifecycle"
)

const powerUsage = `Usage: provisiond power on|off|cycle|status MACHINE [-o table|json|yaml] [flags]

Runs a power operation through the machine's BMC (the "bmc" of its
registration: IPMI over LAN or Redfish). cycle turns on a machine that is
off. MACHINE is a registered machine's name, or its MAC. Exit status 1
when the machine has no BMC or the BMC refuses or does not answer
(--bmc-timeout of the server).

Flags:
`

const reprovisionUsage = `Usage: provisiond reprovision MACHINE [--reason TEXT] [-o table|json|yaml] [flags]

Sends a machine through its installer again: marks it reprovisioning (an
install_once group then answers its /ipxe with the installer again), and
through its BMC sets its next boot to the network, once, and cycles its
power. A machine without a BMC is marked, and you power-cycle it.

Flags:
`

const stateUsage = `Usage: provisiond state MACHINE STATE [--reason TEXT] [-o table|json|yaml] [flags]

Marks a machine: STATE is installed, failed, reprovisioning or discovered
(booting and configured are only observed). The mark and its reason are
kept in the machine's timeline (provisiond describe machine MACHINE).

Flags:
`

// Power is `provisiond power`.
func Power(args []string, stdout, stderr io.Writer) int {
	var cfg ClientConfig
	fs := clientFlags("power", &cfg, true, stderr, powerUsage)
	return Exit(stderr, "power", func() error {
		pos, err := parseClient(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 2 {
			return Usagef("want on|off|cycle|status MACHINE (provisiond power --help)")
		}
		op, err := bmc.ParseOp(pos[0])
		if err != nil {
			return Usage(err)
		}
		c, err := newClient(cfg)
		if err != nil {
			return err
		}
		raw, err := lifecycleCall(c, pos[1], "power", lifecycle.PowerRequest{Op: string(op)})
		if err != nil {
			return err
		}
		if cfg.Output != "table" {
			return printStructured(stdout, cfg.Output, raw)
		}
		var a lifecycle.PowerAnswer
		if err := json.Unmarshal(raw, &a); err != nil {
			return err
		}
		verb := map[bmc.Op]string{bmc.On: "powered on", bmc.Off: "powered off", bmc.Cycle: "power-cycled"}[op]
		if op == bmc.Status {
			verb = "power " + string(a.Power)
		}
		fmt.Fprintf(stdout, "%s: %s\n", a.Machine, verb)
		return nil
	}())
}

// Reprovision is `provisiond reprovision`.
func Reprovision(args []string, stdout, stderr io.Writer) int {
	var cfg ClientConfig
	fs := clientFlags("reprovision", &cfg, true, stderr, reprovisionUsage)
	reason := fs.String("reason", "", "why, in a few words: kept in the machine's timeline")
	return Exit(stderr, "reprovision", func() error {
		pos, err := parseClient(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return Usagef("want MACHINE (provisiond reprovision --help)")
		}
		c, err := newClient(cfg)
		if err != nil {
			return err
		}
		raw, err := lifecycleCall(c, pos[0], "reprovision", lifecycle.ReprovisionRequest{Reason: *reason})
		if err != nil {
			return err
		}
		if cfg.Output != "table" {
			return printStructured(stdout, cfg.Output, raw)
		}
		var r lifecycle.Reprovisioned
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %s", pos[0], r.Machine.State)
		if r.PowerCycled {
			fmt.Fprint(stdout, "; next boot from the network, power cycled through its BMC")
		}
		fmt.Fprintln(stdout)
		if r.Warning != "" {
			fmt.Fprintf(stdout, "warning: %s\n", r.Warning)
		}
		return nil
	}())
}

// State is `provisiond state`.
func State(args []string, stdout, stderr io.Writer) int {
	var cfg ClientConfig
	fs := clientFlags("state", &cfg, true, stderr, stateUsage)
	reason := fs.String("reason", "", "why, in a few words: kept in the machine's timeline")
	return Exit(stderr, "state", func() error {
		pos, err := parseClient(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 2 {
			return Usagef("want MACHINE STATE (provisiond state --help)")
		}
		st, err := inventory.ParseState(pos[1])
		if err != nil {
			return Usage(err)
		}
		if !slices.Contains(inventory.OperatorStates, st) {
			return Usagef("state %q: an operator may set installed, failed, reprovisioning or discovered (booting and configured are only observed)", st)
		}
		c, err := newClient(cfg)
		if err != nil {
			return err
		}
		raw, err := lifecycleCall(c, pos[0], "state", lifecycle.StateRequest{State: string(st), Reason: *reason})
		if err != nil {
			return err
		}
		if cfg.Output != "table" {
			return printStructured(stdout, cfg.Output, raw)
		}
		var m inventory.Machine
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %s\n", pos[0], m.State)
		return nil
	}())
}

// lifecycleCall POSTs body to the machine's lifecycle route (state,
// reprovision, power). The machine is found as describe finds it: a
// registered machine by name or mac, any other by mac or uuid.
func lifecycleCall(c *Client, id, route string, body any) ([]byte, error) {
	m, _, err := findMachine(c, id)
	if err != nil {
		return nil, err
	}
	name := m.Name
	if !m.Registered {
		name = m.MAC
		if name == "" {
			name = m.UUID
		}
	}
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(http.MethodPost, "/api/v1/machines/"+url.PathEscape(name)+"/"+route, nil, data, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// printTimeline prints a machine's state changes, oldest first.
func printTimeline(w io.Writer, changes []inventory.Change) {
	if len(changes) == 0 {
		fmt.Fprintln(w, "Timeline: no state changes yet")
		return
	}
	fmt.Fprintln(w, "Timeline:")
	for _, c := range changes {
		from := string(c.From)
		if from == "" {
			from = "(new)"
		}
		fmt.Fprintf(w, "  %s  %s -> %s  (%s)\n", c.Time.UTC().Format("2006-01-02T15:04:05Z"), from, c.To, c.Cause)
	}
}

// hardware formats a machine's hardware facts as k=v pairs.
func hardware(h *inventory.Hardware) string {
	if h == nil {
		return ""
	}
	var out []string
	for _, f := range [...]struct{ k, v string }{{"serial", h.Serial}, {"manufacturer", h.Manufacturer}, {"product", h.Product}, {"platform", h.Platform}, {"arch", h.Arch}} {
		if f.v != "" {
			out = append(out, f.k+"="+quoteSpace(f.v))
		}
	}
	return strings.Join(out, " ")
}

func quoteSpace(s string) string {
	if strings.ContainsAny(s, " \t\"") {
		return fmt.Sprintf("%q", s)
	}
	return s
}

// eventNote says what an event did beyond its status: how many requests
// it counts and the last one's time, the state it moved the machine to, a
// local boot, its cause.
func eventNote(e eventView) string {
	var parts []string
	if e.Repeats > 0 {
		// the same request again and again, counted on one event
		parts = append(parts, fmt.Sprintf("×%d, last at %s", e.Repeats+1, e.Last.UTC().Format("2006-01-02T15:04:05Z")))
	}
	if e.LocalBoot {
		parts = append(parts, "local boot")
	}
	if e.State != "" {
		parts = append(parts, "-> "+string(e.State))
	}
	if e.Cause != "" {
		parts = append(parts, e.Cause)
	}
	return strings.Join(parts, "; ")
}
