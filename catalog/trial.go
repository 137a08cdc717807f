package catalog

import (
	"errors"
	"fmt"
	"strings"

	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/profiles"
)

// trialServerURL stands in for the request's server in trial renders.
const trialServerURL = "http://provisiond.invalid:8080"

// trialRenders renders every group's Butane template once at load, with the
// data the group itself provides (metadata, selector, the registered
// machine that selects it, the first address of its pool) so that a Butane
// config that cannot translate is refused now, with its line and column,
// instead of failing at boot time. A render that fails for want of
// request-only data (a key only the booting machine's query provides) is a
// warning: it may well work for the real request.
func (s *Snapshot) trialRenders() (warnings []string, err error) {
	for _, g := range s.Index.Groups() {
		p := s.Catalog.Profiles[g.Profile]
		if p.IgnitionID == "" || profiles.IsRawIgnition(p.IgnitionID) {
			continue
		}
		t := s.tmpl[profiles.KindIgnition][p.IgnitionID]
		in := s.trialInput(g)
		src := s.Catalog.source("ignition/" + p.IgnitionID)
		out, err := t.Execute(profiles.Data(in), s.maxOutput)
		if err != nil {
			if errors.Is(err, profiles.ErrOutputTooLarge) {
				return warnings, fmt.Errorf("%w: %s (for group %s): %w", ErrInvalid, src, g.ID, err)
			}
			warnings = append(warnings, fmt.Sprintf("%s: not checked for group %s at load, it needs request data: %v", src, g.ID, firstLine(err.Error())))
			continue
		}
		_, ws, err := profiles.ButaneToIgnition(out)
		for _, w := range ws {
			warnings = append(warnings, fmt.Sprintf("%s (for group %s): %s", src, g.ID, w))
		}
		if err != nil {
			return warnings, fmt.Errorf("%w: %s (rendered for group %s): %w", ErrInvalid, src, g.ID, err)
		}
	}
	return warnings, nil
}

// trialInput is the data a machine of group g would at least bring.
func (s *Snapshot) trialInput(g *groups.Group) profiles.Input {
	facts := groups.Labels{}
	for k, v := range g.Selector {
		facts[k] = v
	}
	var machine *Machine
	for _, name := range sortedKeys(s.Catalog.Machines) {
		m := s.Catalog.Machines[name]
		if s.Index.Select(m.Facts(nil)) == g {
			machine = m
			facts = m.Facts(facts)
			break
		}
	}
	if facts["mac"] == "" {
		facts["mac"] = "52:54:00:00:00:00"
	}
	m := &Match{Group: g, Profile: s.Catalog.Profiles[g.Profile], Machine: machine, Query: facts, Facts: facts, MAC: facts["mac"], UUID: facts["uuid"]}
	var ip map[string]any
	if pool := s.Pool(m); pool != nil {
		addr := pool.First()
		if l, ok := s.leases.Lookup(pool.Name, m.MAC); ok {
			addr = l.Address
		}
		ip = pool.Params(addr).Map()
	}
	raw := make([]string, 0, len(facts))
	for _, k := range sortedKeys(facts) {
		raw = append(raw, k+"="+facts[k])
	}
	return s.Input(m, strings.Join(raw, "&"), trialServerURL, ip)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
