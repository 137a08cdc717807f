package catalog

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/internal/invalid"
	"github.com/provisiond/provisiond/internal/keysort"
	"github.com/provisiond/provisiond/profiles"
)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid catalog")

// Validate checks the catalog as a whole: identical selectors, overlapping
// pools, machines that share a mac, uuid or pinned address, pins outside
// their pool, and references to pools that do not exist. Errors name the
// files involved. It returns warnings for things that work but are
// probably mistakes, among them a profile naming a template, or a group
// naming a profile, that does not exist: matchbox serves such a catalog
// (those machines get 404, and select says why), and
// terraform-provider-matchbox writes a profile before its templates and
// deletes in any order. A writer that refuses a dangling reference that
// its own change introduces (the REST API) calls NewDangling.
func (c *Catalog) Validate() (warnings []string, err error) {
	warnings, _, err = c.validate()
	return warnings, err
}

// validate is Validate, also returning the group index it builds, which
// Compile keeps (building it twice cost half a second at 100,000 groups).
func (c *Catalog) validate() (warnings []string, ix *groups.Index, err error) {
	// fail is an error about one field of an object; conflict, between
	// two objects. Their messages name the field or the objects.
	fail := func(field, format string, args ...any) error {
		return invalid.Field(field, fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...)))
	}
	conflict := func(a, b, format string, args ...any) error {
		return invalid.Conflict(a, b, fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...)))
	}
	warnings = append(warnings, c.Notes...)
	// The group ids, sorted once for every pass below (each sort of
	// 100,000 ids cost a tenth of a second).
	// The groups in id order with their ids, for every pass below (at a
	// million groups, each pass of map lookups was a tenth of a second or
	// more).
	ids, gs := keysort.Sorted(c.Groups)
	for _, d := range c.danglingIn(ids, gs) {
		warnings = append(warnings, d.text+": its machines get 404 for it until it exists")
	}
	for i, id := range ids {
		g := gs[i]
		if g.Pool != "" {
			if _, ok := c.Pools[g.Pool]; !ok {
				return warnings, nil, fail("pool", "%s: pool %q: no such pool (pools/%s.json)", c.source("groups/"+id), g.Pool, g.Pool)
			}
		}
		for _, k := range profiles.ReservedKeys {
			if _, ok := g.Metadata.Get(k); ok && (k != "ip" || g.Pool != "") {
				warnings = append(warnings, fmt.Sprintf("%s: metadata key %q is shadowed by provisiond's .%s in templates", c.source("groups/"+id), k, k))
			}
		}
	}
	ix, err = c.index(gs)
	if err != nil {
		return warnings, nil, err
	}
	warnings = append(warnings, c.etcdWarnings(ix, ids, gs)...)
	poolNames := slices.Sorted(maps.Keys(c.Pools))
	for i, a := range poolNames {
		for _, b := range poolNames[i+1:] {
			if c.Pools[a].Overlaps(c.Pools[b]) {
				return warnings, nil, conflict("pools/"+a, "pools/"+b, "%s and %s: pools overlap (%s and %s)", c.source("pools/"+a), c.source("pools/"+b), c.Pools[a].CIDR, c.Pools[b].CIDR)
			}
		}
	}
	byMAC, byUUID := map[string]string{}, map[string]string{}
	pins := map[string]string{} // pool/address -> machine
	for _, name := range slices.Sorted(maps.Keys(c.Machines)) {
		m := c.Machines[name]
		src := c.source("machines/" + name)
		if m.MAC != "" {
			if other, dup := byMAC[m.MAC]; dup {
				return warnings, nil, conflict("machines/"+other, "machines/"+name, "%s and %s: both register mac %s", c.source("machines/"+other), src, m.MAC)
			}
			byMAC[m.MAC] = name
		}
		if m.UUID != "" {
			if other, dup := byUUID[m.UUID]; dup {
				return warnings, nil, conflict("machines/"+other, "machines/"+name, "%s and %s: both register uuid %s", c.source("machines/"+other), src, m.UUID)
			}
			byUUID[m.UUID] = name
		}
		for _, pool := range slices.Sorted(maps.Keys(m.Leases)) {
			addr := m.Leases[pool]
			p, ok := c.Pools[pool]
			if !ok {
				return warnings, nil, fail("leases."+pool, "%s: leases.%s: no such pool (pools/%s.json)", src, pool, pool)
			}
			a := netip.MustParseAddr(addr) // normalized by DecodeMachine
			if err := pinnable(p.Prefix(), a); err != nil {
				return warnings, nil, fail("leases."+pool, "%s: leases.%s: %s %v (%s)", src, pool, addr, err, c.source("pools/"+pool))
			}
			if p.IsReserved(a) {
				return warnings, nil, fail("leases."+pool, "%s: leases.%s: %s is reserved or the gateway in %s", src, pool, addr, c.source("pools/"+pool))
			}
			key := pool + "/" + addr
			if other, dup := pins[key]; dup {
				return warnings, nil, conflict("machines/"+other, "machines/"+name, "%s and %s: both pin %s in pool %s", c.source("machines/"+other), src, addr, pool)
			}
			pins[key] = name
		}
	}
	return warnings, ix, nil
}

// pinnable reports why a cannot be pinned in prefix: outside it, or its
// IPv4 network or broadcast address.
func pinnable(prefix netip.Prefix, a netip.Addr) error {
	if !prefix.Contains(a) {
		return fmt.Errorf("is outside the pool's network %s", prefix)
	}
	if a.Is4() && prefix.Bits() < 31 {
		if a == prefix.Addr() {
			return fmt.Errorf("is the network address of %s", prefix)
		}
		b := a.As4()
		host := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		if mask := uint32(1)<<(32-prefix.Bits()) - 1; host&mask == mask {
			return fmt.Errorf("is the broadcast address of %s", prefix)
		}
	}
	return nil
}

// index builds the group index, naming the files of identical selectors;
// ids are the group ids, sorted.
func (c *Catalog) index(gs []*groups.Group) (*groups.Index, error) {
	ix, err := groups.NewIndex(gs)
	var dup *groups.DuplicateSelectorError
	if errors.As(err, &dup) {
		return nil, invalid.Conflict("groups/"+dup.A, "groups/"+dup.B, fmt.Errorf("%w: %s and %s: identical selectors {%s}; matchbox would pick one at random", ErrInvalid, c.source("groups/"+dup.A), c.source("groups/"+dup.B), dup.Selector))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return ix, nil
}

// etcdWarnings warns about etcd clusters (groups marked etcd_cluster) whose
// registered member count is even: n members tolerate (n-1)/2 failures, so
// 4 members tolerate 1 failure like 3, and need one more for quorum.
func (c *Catalog) etcdWarnings(ix *groups.Index, ids []string, gs []*groups.Group) []string {
	var warnings []string
	for i, id := range ids {
		g := gs[i]
		if !g.EtcdCluster {
			continue
		}
		n := 0
		for _, m := range c.Machines {
			if ix.Select(m.Facts(nil)) == g {
				n++
			}
		}
		switch {
		case n == 0:
			warnings = append(warnings, fmt.Sprintf("%s: etcd cluster with no registered member: register its machines in machines/ so that members lists them before they boot", c.source("groups/"+id)))
		case n%2 == 0:
			warnings = append(warnings, fmt.Sprintf("%s: etcd cluster of %d members: quorum is %d and it tolerates %s, the same as %s; use %d or %d",
				c.source("groups/"+id), n, n/2+1, count((n-1)/2, "failure", "no failure"), count(n-1, "member", ""), n-1, n+1))
		}
	}
	return warnings
}

// count is "1 thing", "n things", or zero when n is 0 and zero is set.
func count(n int, thing, zero string) string {
	switch {
	case n == 0 && zero != "":
		return zero
	case n == 1:
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// danglingRef is a reference to a template or profile that does not
// exist: key names it independently of the files ("groups/a->profiles/p"),
// text as an error message does.
type danglingRef struct{ key, field, text string }

// dangling lists the references to templates and profiles that do not
// exist, sorted.
func (c *Catalog) dangling() []danglingRef {
	return c.danglingIn(keysort.Sorted(c.Groups))
}

// danglingIn is dangling, given the group ids sorted and their groups.
func (c *Catalog) danglingIn(ids []string, gs []*groups.Group) []danglingRef {
	var out []danglingRef
	for _, id := range sortedKeys(c.Profiles) {
		p := c.Profiles[id]
		for _, ref := range []struct {
			kind profiles.Kind
			name string
			fld  string
		}{
			{profiles.KindIgnition, p.IgnitionID, "ignition_id"},
			{profiles.KindCloud, p.CloudID, "cloud_id"},
			{profiles.KindGeneric, p.GenericID, "generic_id"},
		} {
			if ref.name == "" {
				continue
			}
			if _, ok := c.Templates[ref.kind][ref.name]; !ok {
				out = append(out, danglingRef{"profiles/" + id + "->" + string(ref.kind) + "/" + ref.name, ref.fld,
					fmt.Sprintf("%s: %s %q: no such template %s/%s", c.source("profiles/"+id), ref.fld, ref.name, ref.kind, ref.name)})
			}
		}
	}
	for i, id := range ids {
		g := gs[i]
		if _, ok := c.Profiles[g.Profile]; !ok {
			out = append(out, danglingRef{"groups/" + id + "->profiles/" + g.Profile, "profile",
				fmt.Sprintf("%s: profile %q: no such profile (profiles/%s.json)", c.source("groups/"+id), g.Profile, g.Profile)})
		}
	}
	return out
}

// NewDangling returns an error wrapping ErrInvalid, and an
// *invalid.FieldError naming the referring field (profile, cloud_id,
// ...), for the first reference to a missing template or profile that
// next has and prev (nil: an empty catalog) has not: the REST API refuses
// a change that breaks a reference, while the matchbox gRPC API accepts
// it (see Validate).
func NewDangling(prev, next *Catalog) error {
	had := map[string]bool{}
	if prev != nil {
		for _, d := range prev.dangling() {
			had[d.key] = true
		}
	}
	for _, d := range next.dangling() {
		if !had[d.key] {
			return invalid.Field(d.field, fmt.Errorf("%w: %s", ErrInvalid, d.text))
		}
	}
	return nil
}
