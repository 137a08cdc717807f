package catalog

import (
	"fmt"
	"hash/maphash"
	"strings"

	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/profiles"
)

// trialServerURL stands in for the request's server in trial renders.
const trialServerURL = "http://provisiond.invalid:8080"

// trialRenders renders every group's Butane template once at load, with
// the data the group itself provides (metadata, selector, the registered
// machine that selects it, the first address of its pool) so that a Butane
// config that cannot translate is refused now, at its line and column in
// the template (see SourceError), instead of failing at boot time. A
// top-level key that the group does not provide is an error too (see
// renderFailure); a render that fails for want of request data (a key
// under .request) is a warning: it may well work for the real request.
// Each template's mistakes are reported for the first group they show
// in; the mistakes of every template are returned together.
//
// A translation costs about 1.5 ms, so a catalog of 100,000 per-machine
// groups would take minutes to check group by group. Groups whose data
// have the same shape (see dataShape: the same keys and the same
// punctuation, differing only in the letters and digits of values, such as
// node-000001 and node-000002) are checked once per template: such values
// cannot change the YAML structure. The shape is taken over the keys the
// profile's templates read (shapeFilters), so metadata no template names
// makes no shape of its own. What a shared check cannot see (a
// template that branches on a value) still fails at request time with 500
// and the cause in the log.
//
// Each group's shape is computed once per load, from the group's own
// metadata and selector without building its data (trialShapes): the
// data are built only to render a shape not checked yet. The shapes are
// kept (two numbers a group) for trialLimits, which does the same.
func (s *Snapshot) trialRenders() (warnings []string, err error) {
	first := s.firstMachines()
	checked := map[trialKey]bool{}
	failed := map[string]bool{}
	var errs []error
	all := s.Index.Groups()
	shapes := s.trialShapes(all, first)
	for i, g := range all {
		p := s.Catalog.Profiles[g.Profile]
		if p == nil {
			continue
		}
		if p.IgnitionID == "" || profiles.IsRawIgnition(p.IgnitionID) || failed[p.IgnitionID] {
			continue
		}
		t := s.tmpl[profiles.KindIgnition][p.IgnitionID]
		if t == nil {
			continue // a dangling reference: a warning of validate's
		}
		shape := trialKey{p.IgnitionID, shapes[i].data}
		if checked[shape] {
			continue
		}
		checked[shape] = true
		data := profiles.Data(s.trialInput(g, first[g]))
		src := s.Catalog.source("ignition/" + p.IgnitionID)
		out, err := t.ExecuteTimeout(data, s.maxOutput, s.renderTimeout)
		if err != nil {
			w, problem := renderFailure(src, p.IgnitionID, true, g.ID, t, err)
			if isLimit(err) {
				return warnings, problem
			}
			if w != "" {
				warnings = append(warnings, w)
			}
			if problem != nil {
				errs = append(errs, problem)
				failed[p.IgnitionID] = true
			}
			continue
		}
		_, ws, err := s.translate(out)
		warnings = append(warnings, s.translateWarnings(src, g.ID, t, data, ws)...)
		if err != nil {
			if isLimit(err) {
				return warnings, fmt.Errorf("%w: %s (rendered for group %s): %w", ErrInvalid, src, g.ID, err)
			}
			errs = append(errs, s.translateErrors(src, g.ID, t, data, out, err))
			failed[p.IgnitionID] = true
		}
	}
	if err := s.trialLimits(first, all, shapes); err != nil {
		errs = append(errs, err)
		if isLimit(err) {
			return warnings, joinProblems(errs...)
		}
	}
	ws, err := s.staticButane()
	return append(warnings, ws...), joinProblems(append(errs, err)...)
}

// trialShapes returns the shapes of the trial data of every group with a
// profile: built and hashed for a group that a registered machine
// selects, computed from the group alone (groupShapes) for the others.
func (s *Snapshot) trialShapes(all []*groups.Group, first map[*groups.Group]*Machine) []groupShape {
	shapes := make([]groupShape, len(all))
	var sh shaper
	filters := map[*profiles.Profile]shapeFilters{}
	for i, g := range all {
		p := s.Catalog.Profiles[g.Profile]
		if p == nil {
			continue
		}
		f, ok := filters[p]
		if !ok {
			f = s.shapeFilters(p)
			filters[p] = f
		}
		if m := first[g]; m != nil {
			shapes[i] = sh.trialShapes(profiles.Data(s.trialInput(g, m)), f)
			continue
		}
		shapes[i] = s.groupShapes(&sh, g, f)
	}
	return shapes
}

// shapeFilters returns the keys the shapes of profile p's groups are
// taken over: those its config templates read (the data shape, the trial
// key of its Ignition, cloud-config and generic templates), and those its
// boot fields read (the boot shape). A template that reads the data whole
// makes its shape one over every key.
func (s *Snapshot) shapeFilters(p *profiles.Profile) shapeFilters {
	var config, boot []*profiles.Template
	if p.IgnitionID != "" && !profiles.IsRawIgnition(p.IgnitionID) {
		config = append(config, s.tmpl[profiles.KindIgnition][p.IgnitionID])
	}
	if p.CloudID != "" {
		config = append(config, s.tmpl[profiles.KindCloud][p.CloudID])
	}
	if p.GenericID != "" {
		config = append(config, s.tmpl[profiles.KindGeneric][p.GenericID])
	}
	if bt := s.boot[p.ID]; bt != nil {
		boot = append(append([]*profiles.Template{bt.kernel}, bt.initrd...), bt.args...)
	}
	return shapeFilters{data: readFilter(config), boot: readFilter(boot)}
}

// readFilter is the union of the keys the templates read, nil when one
// reads the data whole. A nil template (a dangling reference, which is
// never rendered) reads nothing.
func readFilter(ts []*profiles.Template) keyFilter {
	keys, all := profiles.ReadsOf(ts...)
	if all {
		return nil
	}
	f := make(keyFilter, len(keys))
	for _, k := range keys {
		f[k] = struct{}{}
	}
	return f
}

// staticButane translates every Butane template that contains no template
// action at all and that no group's profile uses (those were rendered and
// translated above): its output is the same for every machine, so a
// template that does not translate would fail for whichever group comes to
// use it. Refusing it now gives the error, with Butane's line and column,
// when the template is written rather than when a group first names it.
func (s *Snapshot) staticButane() (warnings []string, err error) {
	used := map[string]bool{}
	for _, g := range s.Catalog.Groups {
		if p := s.Catalog.Profiles[g.Profile]; p != nil {
			used[p.IgnitionID] = true
		}
	}
	var errs []error
	for _, name := range sortedKeys(s.Catalog.Templates[profiles.KindIgnition]) {
		text := s.Catalog.Templates[profiles.KindIgnition][name]
		if used[name] || profiles.IsRawIgnition(name) || strings.Contains(text, "{{") {
			continue
		}
		src := s.Catalog.source("ignition/" + name)
		_, ws, err := s.translate([]byte(text))
		warnings = append(warnings, s.translateWarnings(src, "", nil, nil, ws)...)
		if err != nil {
			if isLimit(err) {
				return warnings, fmt.Errorf("%w: %s: %w", ErrInvalid, src, err)
			}
			errs = append(errs, s.translateErrors(src, "", nil, nil, []byte(text), err))
		}
	}
	return warnings, joinProblems(errs...)
}

// firstMachines maps each group to the first registered machine (by name)
// that selects it, in one pass over the registry.
func (s *Snapshot) firstMachines() map[*groups.Group]*Machine {
	first := map[*groups.Group]*Machine{}
	for _, name := range sortedKeys(s.Catalog.Machines) {
		m := s.Catalog.Machines[name]
		if g := s.Index.Select(m.Facts(nil)); g != nil && first[g] == nil {
			first[g] = m
		}
	}
	return first
}

// trialInput is the data a machine of group g would at least bring;
// machine is the first registered machine that selects g, or nil.
func (s *Snapshot) trialInput(g *groups.Group, machine *Machine) profiles.Input {
	facts := groups.Labels{}
	for k, v := range g.Selector.All() {
		facts[k] = v
	}
	if machine != nil {
		facts = machine.Facts(facts)
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

// dataShape describes template data up to the letters and digits of its
// values: map keys, list lengths, numbers, booleans, every punctuation and
// space character are kept; each run of letters and digits becomes d (all
// digits), h (a digit, then letters: 1e5, 0a) or w (a letter first). Words
// that YAML reads as something other than a string (true, no, null, ...)
// are kept as they are. Two data with one shape render a template into
// YAML of one structure unless the template branches on a value. The shape
// is returned as a 64-bit hash (maps hashed independently of their order,
// without sorting keys), since it is computed for every group (see
// shaper).
func dataShape(v any) uint64 {
	var sh shaper
	return sh.shape(v)
}

var shapeSeed = maphash.MakeSeed()

// trialKey is a template and the shape of the data it was checked with.
type trialKey struct {
	template string
	shape    uint64
}

// groupShape is the shape of a group's trial data (profiles.Data) and of
// its boot data (profiles.BootData with the trial boot token).
type groupShape struct{ data, boot uint64 }

// trialBootToken is the boot token of trial boot renders.
const trialBootToken = "trial"

// trialShapes returns dataShape(data) and the dataShape of data with
// boot_token set to trialBootToken, without building that second map: a
// map's shape is a hash of its length and of the sum of its entries'.
func trialShapes(data map[string]any) groupShape {
	var sh shaper
	return sh.trialShapes(data, everyKey)
}

// stringShape appends the shape of s to b.
func stringShape(b []byte, s string) []byte {
	isAlnum := func(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
	for i := 0; i < len(s); {
		if !isAlnum(s[i]) {
			if s[i] == '"' || s[i] == '\\' {
				b = append(b, '\\')
			}
			b = append(b, s[i])
			i++
			continue
		}
		j := i
		digits := true
		for j < len(s) && isAlnum(s[j]) {
			digits = digits && s[j] <= '9'
			j++
		}
		word := s[i:j]
		switch {
		case len(word) <= 5 && isYAMLWord(word):
			b = append(b, word...)
		case digits:
			b = append(b, 'd')
		case s[i] <= '9':
			b = append(b, 'h')
		default:
			b = append(b, 'w')
		}
		i = j
	}
	return b
}

// isYAMLWord says whether word is one of yamlWords, in any case. Most
// words are not (a mac is six words of hex digits): the first letter
// says so before any lowercase copy or map lookup.
func isYAMLWord(word string) bool {
	switch word[0] | 0x20 {
	case 't', 'f', 'y', 'n', 'o', 'i':
		return yamlWords[strings.ToLower(word)]
	}
	return false
}

// yamlWords are the plain scalars YAML 1.1 or 1.2 reads as booleans, null,
// infinity or not-a-number.
var yamlWords = map[string]bool{
	"true": true, "false": true, "yes": true, "no": true, "on": true, "off": true,
	"y": true, "n": true, "null": true, "nan": true, "inf": true,
}
