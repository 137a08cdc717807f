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
	//
	// A profile's checks (template, source, key) are listed once, not
	// once per group.
	type trial struct {
		src, name, key string
		inFile, boot   bool
		t              *profiles.Template
	}
	perProfile := map[string][]trial{}
	trials := func(p *profiles.Profile) []trial {
		if ts, ok := perProfile[p.ID]; ok {
			return ts
		}
		var ts []trial
		if bt := s.boot[p.ID]; bt != nil {
			src := s.Catalog.source("profiles/" + p.ID)
			for _, t := range append(append([]*profiles.Template{bt.kernel}, bt.initrd...), bt.args...) {
				if t != nil {
					ts = append(ts, trial{src: src, name: t.Name, key: src + "\x00" + t.Name, boot: true, t: t})
				}
			}
		}
		for _, ref := range []struct {
			kind profiles.Kind
			id   string
		}{{profiles.KindCloud, p.CloudID}, {profiles.KindGeneric, p.GenericID}} {
			if ref.id == "" {
				continue
			}
			if t := s.tmpl[ref.kind][ref.id]; t != nil {
				src := s.Catalog.source(string(ref.kind) + "/" + ref.id)
				ts = append(ts, trial{src: src, name: ref.id, key: src + "\x00" + ref.id, inFile: true, t: t})
			}
		}
		perProfile[p.ID] = ts
		return ts
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
		var data, bootData map[string]any
		for _, tr := range trials(p) {
			shape := shapes[i].data
			if tr.boot {
				shape = shapes[i].boot
			}
			key := trialKey{tr.key, shape}
			if checked[key] {
				continue
			}
			checked[key] = true
			var d map[string]any
			if tr.boot {
				if bootData == nil {
					bootData = profiles.BootData(input())
				}
				d = bootData
			} else {
				if data == nil {
					data = profiles.Data(input())
				}
				d = data
			}
			if _, err := tr.t.ExecuteTimeout(d, s.maxOutput, s.renderTimeout); err != nil {
				_, problem := renderFailure(tr.src, tr.name, tr.inFile, g.ID, tr.t, err)
				if problem != nil && !isLimit(err) {
					// A missing key: reported once per template, and the
					// check goes on to find a limit that would end the
					// load.
					if !failed[key.template] {
						failed[key.template] = true
						errs = append(errs, problem)
					}
					continue
				}
				if problem != nil {
					return joinProblems(append(errs, problem)...)
				}
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
