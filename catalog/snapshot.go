package catalog

import (
	"errors"
	"fmt"
	"github.com/provisiond/provisiond/internal/invalid"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
)

// ErrNoMatch is returned by Resolve when no group matches a request.
var ErrNoMatch = errors.New("no matching group")

// ErrNoProfile is returned by Resolve when the matching group names a
// profile that does not exist. It wraps ErrNoMatch: such a machine gets
// 404, as in matchbox, and does not fall through to another group.
var ErrNoProfile = fmt.Errorf("%w: the group's profile does not exist", ErrNoMatch)

// ErrNoTemplate is returned by Config when the matched profile names no
// template of the asked kind.
var ErrNoTemplate = errors.New("profile has no template of this kind")

// ErrNotRegistered is returned by Resolve when the group a request
// matches draws from a pool limited to registered machines
// (ipam.Pool.RegisteredOnly) and the request names no registered machine.
// It is also ErrNoMatch: the group is not the machine's, and Resolve does
// not fall through to a lower group either, since a machine that claims a
// role it was not given must get nothing rather than another role's
// config. Transports answer it 403.
var ErrNotRegistered = errors.New("the group is for registered machines only")

// ErrNeedMAC is returned when a group with a pool matches a request that
// carries no mac: leases are keyed by mac.
var ErrNeedMAC = errors.New("a mac is required")

// Snapshot is an immutable, compiled catalog: the group index, parsed
// templates, validated raw Ignition and the machine registry by mac and
// uuid. The boot path reads only snapshots; a change builds a new one and
// swaps it in. Its caches (renderings, members, .ip data) die with it, so
// a catalog change invalidates every cached rendering, and no cache
// outlives the snapshot it was filled from.
type Snapshot struct {
	Catalog *Catalog
	Index   *groups.Index

	leases *ipam.Table
	tmpl   map[profiles.Kind]map[string]*profiles.Template
	rawIgn map[string][]byte
	boot   map[string]*bootTemplates
	byMAC  map[string]*Machine
	byUUID map[string]*Machine
	cache  *renderCache[[]byte]
	// bootCache holds rendered boot fields (/ipxe, /grub) and envCache
	// the /metadata env files, keyed like cache.
	bootCache *renderCache[profiles.Boot]
	envCache  *renderCache[[]byte]
	members   *membersCache
	// ip holds the .ip data (see IPData).
	ip *ipCache
	// maxOutput bounds a template's output (0: profiles.DefaultMaxOutput).
	maxOutput int
	// renderTimeout bounds one render (see profiles.ExecuteTimeout).
	renderTimeout time.Duration
	stats         *CacheStats
}

type bootTemplates struct {
	kernel *profiles.Template
	initrd []*profiles.Template
	args   []*profiles.Template
	// usesMembers is set when any of them calls members.
	usesMembers bool
	// reads are the top-level keys of the data they read (readsAll: the
	// data whole), so that a render builds only those (BootDataFor).
	reads    []string
	readsAll bool
}

// Options tune Compile.
type Options struct {
	// MaxOutput bounds one template's rendered size in bytes
	// (0: profiles.DefaultMaxOutput).
	MaxOutput int
	// RenderTimeout bounds one render's time (0:
	// profiles.DefaultRenderTimeout; negative: no bound). Only cache misses
	// render.
	RenderTimeout time.Duration
	// CacheBytes bounds the render cache (0: defaultCacheBytes).
	CacheBytes int
	// Stats, when set, counts render cache hits and misses.
	Stats *CacheStats
}

// Compile validates c and compiles it against a lease table (which members
// and .ip read). It returns warnings worth logging.
func Compile(c *Catalog, leases *ipam.Table, opt Options) (*Snapshot, []string, error) {
	warnings, ix, err := c.validate()
	if err != nil {
		return nil, warnings, err
	}
	if leases == nil {
		leases = ipam.NewTable(nil)
	}
	s := &Snapshot{
		Catalog:   c,
		Index:     ix,
		leases:    leases,
		tmpl:      map[profiles.Kind]map[string]*profiles.Template{},
		rawIgn:    map[string][]byte{},
		boot:      map[string]*bootTemplates{},
		byMAC:     map[string]*Machine{},
		byUUID:    map[string]*Machine{},
		cache:     newRenderCache(opt.CacheBytes, bytesSize),
		bootCache: newRenderCache(opt.CacheBytes/4, bootSize),
		envCache:  newRenderCache(opt.CacheBytes/4, bytesSize),
		members:   &membersCache{},
		ip:        newIPCache(c.Pools),
		maxOutput: opt.MaxOutput,
		stats:     opt.Stats,
	}
	s.renderTimeout = opt.RenderTimeout
	if s.stats == nil {
		s.stats = &CacheStats{}
	}
	for _, m := range c.Machines {
		if m.MAC != "" {
			s.byMAC[m.MAC] = m
		}
		if m.UUID != "" {
			s.byUUID[m.UUID] = m
		}
	}
	for _, kind := range profiles.Kinds {
		s.tmpl[kind] = map[string]*profiles.Template{}
		for _, name := range slices.Sorted(maps.Keys(c.Templates[kind])) {
			text := c.Templates[kind][name]
			src := c.source(string(kind) + "/" + name)
			if kind == profiles.KindIgnition && profiles.IsRawIgnition(name) {
				ws, err := profiles.CheckIgnition([]byte(text))
				for _, w := range ws {
					warnings = append(warnings, fmt.Sprintf("%s: %s", src, w))
				}
				if err != nil {
					return nil, warnings, fmt.Errorf("%w: %s: %w", ErrInvalid, src, err)
				}
				s.rawIgn[name] = []byte(text)
				continue
			}
			t, err := profiles.Compile(name, text, s.Members)
			if err != nil {
				return nil, warnings, fmt.Errorf("%w: %s: %w", ErrInvalid, src, err)
			}
			s.tmpl[kind][name] = t
		}
	}
	for _, id := range slices.Sorted(maps.Keys(c.Profiles)) {
		p := c.Profiles[id]
		src := c.source("profiles/" + id)
		bt := &bootTemplates{}
		compile := func(field, text string) (*profiles.Template, error) {
			t, err := profiles.Compile(id+" boot."+field, text, s.Members)
			if err != nil {
				return nil, invalid.Field("boot."+field, fmt.Errorf("%w: %s: boot.%s: %w", ErrInvalid, src, field, err))
			}
			return t, nil
		}
		if bt.kernel, err = compile("kernel", p.Boot.Kernel); err != nil {
			return nil, warnings, err
		}
		for i, text := range p.Boot.Initrd {
			t, err := compile(fmt.Sprintf("initrd[%d]", i), text)
			if err != nil {
				return nil, warnings, err
			}
			bt.initrd = append(bt.initrd, t)
		}
		for i, text := range p.Boot.Args {
			t, err := compile(fmt.Sprintf("args[%d]", i), text)
			if err != nil {
				return nil, warnings, err
			}
			bt.args = append(bt.args, t)
		}
		bt.usesMembers = bt.kernel.UsesMembers
		for _, t := range append(append([]*profiles.Template(nil), bt.initrd...), bt.args...) {
			bt.usesMembers = bt.usesMembers || t.UsesMembers
		}
		bt.reads, bt.readsAll = profiles.ReadsOf(append(append([]*profiles.Template{bt.kernel}, bt.initrd...), bt.args...)...)
		s.boot[id] = bt
	}
	ws, err := s.trialRenders()
	warnings = append(warnings, ws...)
	if err != nil {
		return nil, warnings, err
	}
	return s, warnings, nil
}

// Match is the outcome of matching one request.
type Match struct {
	Group   *groups.Group
	Profile *profiles.Profile
	// Machine is the registry entry, nil for a machine not registered.
	Machine *Machine
	// Query is the request's own labels (.request.query in templates).
	Query groups.Labels
	// Facts are the labels the group was chosen with: the query's,
	// overridden by the registered ones.
	Facts groups.Labels
	MAC   string
	UUID  string
}

// Resolve finds the registered machine a request names (by mac, else by
// uuid), merges its labels over the query's, and picks the group. It
// returns ErrNoMatch when no group matches, ErrNotRegistered (also
// ErrNoMatch) when an unregistered machine matches a group whose pool is
// limited to registered machines, and ErrNoProfile (with the group set in
// the Match) when the group's profile does not exist.
func (s *Snapshot) Resolve(query groups.Labels) (*Match, error) {
	m := s.Machine(query["mac"], query["uuid"])
	facts := query
	if m != nil {
		facts = m.Facts(query)
	}
	g := s.Index.Select(facts)
	if g == nil {
		return &Match{Machine: m, Query: query, Facts: facts, MAC: facts["mac"], UUID: facts["uuid"]}, ErrNoMatch
	}
	if m == nil && g.Pool != "" {
		if p := s.Catalog.Pools[g.Pool]; p != nil && p.RegisteredOnly {
			who := "mac " + facts["mac"]
			if facts["mac"] == "" {
				who = "uuid " + facts["uuid"]
			}
			return &Match{Query: query, Facts: facts, MAC: facts["mac"], UUID: facts["uuid"]},
				fmt.Errorf("%w (%w): group %q draws from pool %q, which is limited to registered machines, and %s is not registered (machines/)",
					ErrNotRegistered, ErrNoMatch, g.ID, g.Pool, who)
		}
	}
	match := &Match{
		Group:   g,
		Profile: s.Catalog.Profiles[g.Profile],
		Machine: m,
		Query:   query,
		Facts:   facts,
		MAC:     facts["mac"],
		UUID:    facts["uuid"],
	}
	if match.Profile == nil {
		return match, fmt.Errorf("%w: group %q names profile %q", ErrNoProfile, g.ID, g.Profile)
	}
	return match, nil
}

// Machine returns the registered machine with this mac, else this uuid,
// else nil.
func (s *Snapshot) Machine(mac, uuid string) *Machine {
	if mac != "" {
		if m := s.byMAC[mac]; m != nil {
			return m
		}
	}
	if uuid != "" {
		return s.byUUID[uuid]
	}
	return nil
}

// Pool returns the pool of a match's group, or nil.
func (s *Snapshot) Pool(m *Match) *ipam.Pool {
	if m.Group == nil || m.Group.Pool == "" {
		return nil
	}
	return s.Catalog.Pools[m.Group.Pool]
}

// Input assembles the template input for a match. ip is the lease's
// parameters (nil without a pool).
func (s *Snapshot) Input(m *Match, rawQuery, serverURL string, ip map[string]any) profiles.Input {
	// Labels stays nil for a machine not registered: profiles.Data reads
	// it, never writes it, and a nil map reads as an empty one.
	md := profiles.MachineData{MAC: m.MAC, UUID: m.UUID}
	if m.Machine != nil {
		md.Name = m.Machine.Name
		md.Labels = m.Machine.Labels
	}
	return profiles.Input{
		Metadata:  m.Group.Metadata,
		Selector:  m.Group.Selector,
		Query:     m.Query,
		RawQuery:  rawQuery,
		ServerURL: serverURL,
		Machine:   md,
		IP:        ip,
	}
}

// Boot renders the matched profile's boot fields. Renderings are cached
// like Config's; the returned slices are shared and must not be modified.
func (s *Snapshot) Boot(m *Match, in profiles.Input) (profiles.Boot, error) {
	bt := s.boot[m.Profile.ID]
	var kb [keyBuf]byte
	key := s.cacheKey(kb[:0], "boot", m.Profile.ID, m, in, bt.usesMembers)
	if out, ok := s.bootCache.get(key); ok {
		s.stats.Hits.Add(1)
		return out, nil
	}
	s.stats.Misses.Add(1)
	out, err := s.renderBoot(bt, profiles.BootDataFor(in, bt.reads, bt.readsAll))
	if err != nil {
		return out, err
	}
	s.bootCache.put(string(key), out)
	return out, nil
}

func (s *Snapshot) renderBoot(bt *bootTemplates, data map[string]any) (profiles.Boot, error) {
	var out profiles.Boot
	var err error
	if out.Kernel, err = s.exec(bt.kernel, data); err != nil {
		return out, err
	}
	for _, t := range bt.initrd {
		v, err := s.exec(t, data)
		if err != nil {
			return out, err
		}
		out.Initrd = append(out.Initrd, v)
	}
	for _, t := range bt.args {
		v, err := s.exec(t, data)
		if err != nil {
			return out, err
		}
		out.Args = append(out.Args, v)
	}
	return out, nil
}

func (s *Snapshot) exec(t *profiles.Template, data map[string]any) (string, error) {
	b, err := t.ExecuteTimeout(data, s.maxOutput, s.renderTimeout)
	return string(b), err
}

// TemplateName returns the name of the profile's template of kind, or
// ErrNoTemplate.
func TemplateName(p *profiles.Profile, kind profiles.Kind) (string, error) {
	var name string
	switch kind {
	case profiles.KindIgnition:
		name = p.IgnitionID
	case profiles.KindCloud:
		name = p.CloudID
	case profiles.KindGeneric:
		name = p.GenericID
	}
	if name == "" {
		return "", fmt.Errorf("%w: profile %q has no %s template", ErrNoTemplate, p.ID, kind)
	}
	return name, nil
}

// Config renders the matched profile's template of kind: Butane translated
// to Ignition, raw Ignition as it is, cloud-config or generic text.
// Renderings are cached by (template, group, request, server URL, lease
// and, for templates that call members, the lease table's generation).
// Warnings from Butane are returned on a cache miss only.
func (s *Snapshot) Config(kind profiles.Kind, m *Match, in profiles.Input) ([]byte, []profiles.Warning, error) {
	name, err := TemplateName(m.Profile, kind)
	if err != nil {
		return nil, nil, err
	}
	if kind == profiles.KindIgnition {
		if raw, ok := s.rawIgn[name]; ok {
			return raw, nil, nil
		}
	}
	t := s.tmpl[kind][name]
	if t == nil {
		return nil, nil, fmt.Errorf("%w: profile %q names %s template %q, which does not exist", ErrNoTemplate, m.Profile.ID, kind, name)
	}
	var kb [keyBuf]byte
	key := s.cacheKey(kb[:0], string(kind), name, m, in, t.UsesMembers)
	if out, ok := s.cache.get(key); ok {
		s.stats.Hits.Add(1)
		return out, nil, nil
	}
	s.stats.Misses.Add(1)
	// Only the keys the template reads: it renders from them as from the
	// whole data (profiles.DataFor).
	keys, all := t.Reads()
	data := profiles.DataFor(in, keys, all)
	if kind == profiles.KindIgnition {
		if out, ok := t.FastIgnition(data, s.maxOutput, s.renderTimeout); ok {
			s.cache.put(string(key), out)
			return out, nil, nil
		}
	}
	out, err := t.ExecuteTimeout(data, s.maxOutput, s.renderTimeout)
	if err != nil {
		return nil, nil, fmt.Errorf("%s/%s: %w", kind, name, err)
	}
	var warnings []profiles.Warning
	if kind == profiles.KindIgnition {
		rendered := out
		out, warnings, err = s.translate(rendered)
		if err != nil {
			return nil, warnings, s.atRequest(string(kind)+"/"+name, m.Group.ID, t, data, rendered, err)
		}
	}
	s.cache.put(string(key), out)
	return out, warnings, nil
}

// MetadataEnv returns /metadata's KEY=value lines for a match, cached like
// Config.
func (s *Snapshot) MetadataEnv(m *Match, in profiles.Input) []byte {
	var kb [keyBuf]byte
	key := s.cacheKey(kb[:0], "metadata", "", m, in, false)
	if out, ok := s.envCache.get(key); ok {
		return out
	}
	out := profiles.EnvFile(profiles.MetadataData(in))
	s.envCache.put(string(key), out)
	return out
}

// cacheKey identifies a rendering: what is rendered (kind and name), and
// everything the data depends on besides the snapshot itself: the group,
// the query (which also names the registered machine), the server URL, the
// mac a uuid resolved to, the lease's address and, for templates that call
// members, the lease table's generation. It appends the key to b: callers
// pass a buffer on their stack, look it up without a copy and make a
// string of it only to fill the cache.
func (s *Snapshot) cacheKey(b []byte, kind, name string, m *Match, in profiles.Input, members bool) []byte {
	b = append(b, kind...)
	b = append(b, 0)
	b = append(b, name...)
	b = append(b, 0)
	b = append(b, m.Group.ID...)
	b = append(b, 0)
	b = append(b, in.RawQuery...)
	b = append(b, 0)
	b = append(b, in.ServerURL...)
	b = append(b, 0)
	b = append(b, m.MAC...) // the query can omit the mac a uuid resolved to
	b = append(b, 0)
	b = append(b, in.BootToken...) // changes every quarter of the token TTL
	b = append(b, 0)
	if in.IP != nil {
		if a, ok := in.IP["address"].(string); ok {
			b = append(b, a...)
		} else {
			b = fmt.Append(b, in.IP["address"])
		}
	}
	if members {
		b = append(b, 0)
		b = strconv.AppendUint(b, s.leases.Generation(), 10)
	}
	return b
}

// keyBuf is the size of the stack buffer cache keys are built in.
const keyBuf = 512

// Members returns the registered machines matching selector, each with
// name, mac, ip (its address in the pool of the group it selects, or its
// first pinned address) and labels, sorted by address, then name. Machines
// without an address sort last with ip "".
func (s *Snapshot) Members(selector string) ([]profiles.Member, error) {
	gen := s.leases.Generation()
	if ms, ok := s.members.get(selector, gen); ok {
		return ms, nil
	}
	sel, err := groups.ParseSelector(selector)
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	type row struct {
		m    *Machine
		addr netip.Addr
	}
	var rows []row
	for _, m := range s.Catalog.Machines {
		facts := m.Facts(nil)
		if !(&groups.Group{Selector: sel}).Matches(facts) {
			continue
		}
		rows = append(rows, row{m, s.addressOf(m, facts)})
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.addr.IsValid() != b.addr.IsValid() {
			return a.addr.IsValid()
		}
		if a.addr != b.addr {
			return a.addr.Less(b.addr)
		}
		return a.m.Name < b.m.Name
	})
	out := make([]profiles.Member, len(rows))
	for i, r := range rows {
		ip := ""
		if r.addr.IsValid() {
			ip = r.addr.String()
		}
		labels := make(map[string]any, len(r.m.Labels))
		for k, v := range r.m.Labels {
			labels[k] = v
		}
		out[i] = profiles.Member{"name": r.m.Name, "mac": r.m.MAC, "ip": ip, "labels": labels}
	}
	s.members.put(selector, gen, out)
	return out, nil
}

// addressOf returns a registered machine's address: its lease in the pool of
// the group it selects, else its first pinned address by pool name.
func (s *Snapshot) addressOf(m *Machine, facts groups.Labels) netip.Addr {
	if g := s.Index.Select(facts); g != nil && g.Pool != "" && m.MAC != "" {
		if l, ok := s.leases.Lookup(g.Pool, m.MAC); ok {
			return l.Address
		}
		if pin, ok := m.Leases[g.Pool]; ok {
			return netip.MustParseAddr(pin)
		}
	}
	for _, pool := range slices.Sorted(maps.Keys(m.Leases)) {
		return netip.MustParseAddr(m.Leases[pool])
	}
	return netip.Addr{}
}

// Leases returns the lease table the snapshot reads.
func (s *Snapshot) Leases() *ipam.Table { return s.leases }

type membersCache struct {
	mu  sync.Mutex
	gen uint64
	m   map[string][]profiles.Member
}

func (c *membersCache) get(sel string, gen uint64) ([]profiles.Member, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || c.m == nil {
		return nil, false
	}
	ms, ok := c.m[sel]
	return ms, ok
}

func (c *membersCache) put(sel string, gen uint64, ms []profiles.Member) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || c.m == nil {
		c.gen, c.m = gen, map[string][]profiles.Member{}
	}
	c.m[sel] = ms
}
