package catalog

import (
	"errors"
	"fmt"

	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/profiles"
)

// isLimit reports whether a render failed on a resource limit (output
// size, render time) rather than for want of data: such a template is
// refused at load, not merely warned about.
func isLimit(err error) bool {
	return errors.Is(err, profiles.ErrOutputTooLarge) || errors.Is(err, profiles.ErrRenderTimeout) || errors.Is(err, profiles.ErrRenderBusy)
}

// trialLimits renders each group's boot fields and cloud-config and
// generic templates once with the data the group provides (Butane
// templates are rendered by trialRenders) and refuses the catalog when a
// render exceeds the output or time limit, or asks for a top-level key the
// group does not provide (see renderFailure): a template that loops or
// allocates without bound, or names a key no machine of the group will
// have, is refused when it is written, not discovered at every boot.
// Other render errors are ignored here: such a template may need request
// data, and fails at request time with 500.
func (s *Snapshot) trialLimits(first map[*groups.Group]*Machine, all []*groups.Group, shapes []groupShape) error {
	checked := map[trialKey]bool{}
	failed := map[string]bool{}
	var errs []error
	// Shapes are computed once per group (by trialRenders), not once per
	// template, and a group's data is built again only when one of its
	// shapes has not been checked: at 100,000 groups that was most of the
	// cost of a load.
	check := func(src, name string, inFile bool, t *profiles.Template, data func() map[string]any, shape uint64, group string) error {
		if t == nil {
			return nil
		}
		key := trialKey{src + "\x00" + name, shape}
		if checked[key] {
			return nil
		}
		checked[key] = true
		if _, err := t.ExecuteTimeout(data(), s.maxOutput, s.renderTimeout); err != nil {
			_, problem := renderFailure(src, name, inFile, group, t, err)
			if problem != nil && !isLimit(err) {
				// A missing key: reported once per template, and the
				// check goes on to find a limit that would end the load.
				if !failed[key.template] {
					failed[key.template] = true
					errs = append(errs, problem)
				}
				return nil
			}
			return problem
		}
		return nil
	}
	for i, g := range all {
		p := s.Catalog.Profiles[g.Profile]
		if p == nil {
			continue // a dangling reference: a warning of validate's
		}
		var in *profiles.Input
		input := func() profiles.Input {
			if in == nil {
				v := s.trialInput(g, first[g])
				v.BootToken = trialBootToken
				in = &v
			}
			return *in
		}
		data := func() map[string]any { return profiles.Data(input()) }
		if bt := s.boot[p.ID]; bt != nil {
			var bootData map[string]any
			lazy := func() map[string]any {
				if bootData == nil {
					bootData = profiles.BootData(input())
				}
				return bootData
			}
			for _, t := range append(append([]*profiles.Template{bt.kernel}, bt.initrd...), bt.args...) {
				if err := check(s.Catalog.source("profiles/"+p.ID), t.Name, false, t, lazy, shapes[i].boot, g.ID); err != nil {
					return joinProblems(append(errs, err)...)
				}
			}
		}
		if p.CloudID != "" {
			if err := check(s.Catalog.source("cloud/"+p.CloudID), p.CloudID, true, s.tmpl[profiles.KindCloud][p.CloudID], data, shapes[i].data, g.ID); err != nil {
				return joinProblems(append(errs, err)...)
			}
		}
		if p.GenericID != "" {
			if err := check(s.Catalog.source("generic/"+p.GenericID), p.GenericID, true, s.tmpl[profiles.KindGeneric][p.GenericID], data, shapes[i].data, g.ID); err != nil {
				return joinProblems(append(errs, err)...)
			}
		}
	}
	return joinProblems(errs...)
}

// translate translates rendered Butane to Ignition, within the render
// time limit (a translation costs about 0.7 ms per file, so a huge Butane
// config could take minutes), and bounds the result by the output limit
// too: a small Butane file can translate into a much larger config.
func (s *Snapshot) translate(butane []byte) ([]byte, []profiles.Warning, error) {
	type translated struct {
		out []byte
		ws  []profiles.Warning
	}
	t, err := profiles.RunTimeout("Butane translation", s.renderTimeout, func() (translated, error) {
		out, ws, err := profiles.ButaneToIgnition(butane)
		return translated{out, ws}, err
	})
	out, ws := t.out, t.ws
	max := s.maxOutput
	if max <= 0 {
		max = profiles.DefaultMaxOutput
	}
	if err == nil && len(out) > max {
		return nil, ws, fmt.Errorf("translated Ignition of %d bytes: %w (limit %d bytes)", len(out), profiles.ErrOutputTooLarge, max)
	}
	return out, ws, err
}
