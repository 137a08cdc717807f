package console

import (
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
)

// machineRow is one machine as the console shows it: its registration
// (when registered), what the boot path saw, and its leases.
type machineRow struct {
	// ID names the machine in the console's URLs: its registered name,
	// else its inventory key (mac, or uuid:<uuid>).
	ID         string
	Key        string
	Name       string
	MAC        string
	UUID       string
	Labels     map[string]string
	Registered bool
	Seen       bool
	State      string
	// Group and Profile are what it was last served; when it was never
	// served, the group it would match now, with Predicted set.
	Group        string
	Profile      string
	Predicted    bool
	Leases       []ipam.Lease
	FirstSeen    time.Time
	LastSeen     time.Time
	LastEndpoint string
}

// Address returns the machine's first leased address, "" for none.
func (m machineRow) Address() string {
	if len(m.Leases) == 0 {
		return ""
	}
	return m.Leases[0].Address.String()
}

// machineRows merges the registry, the inventory and the lease table.
// Registered machines come first, by name; then the others, by key.
func machineRows(snap *catalog.Snapshot, inv []inventory.Machine, leases []ipam.Lease) []machineRow {
	rows := map[string]*machineRow{}
	byUUID := map[string]*machineRow{}
	if snap != nil {
		for _, m := range snap.Catalog.Machines {
			key := inventory.Key(m.MAC, m.UUID)
			r := &machineRow{ID: m.Name, Key: key, Name: m.Name, MAC: m.MAC, UUID: m.UUID, Labels: m.Labels, Registered: true}
			if g := snap.Index.Select(m.Facts(nil)); g != nil {
				r.Group, r.Profile, r.Predicted = g.ID, g.Profile, true
			}
			rows[key] = r
			if m.UUID != "" {
				byUUID[m.UUID] = r
			}
		}
	}
	for i := range inv {
		rec := &inv[i]
		r := rows[rec.Key]
		if r == nil && rec.MAC == "" && rec.UUID != "" {
			r = byUUID[rec.UUID] // a uuid-only record of a machine registered by mac
		}
		if r == nil {
			r = &machineRow{ID: rec.Key, Key: rec.Key, MAC: rec.MAC, UUID: rec.UUID}
			rows[rec.Key] = r
		}
		if r.UUID == "" {
			r.UUID = rec.UUID
		}
		r.Seen, r.State = true, string(rec.State)
		r.FirstSeen, r.LastSeen, r.LastEndpoint = rec.FirstSeen, rec.LastSeen, rec.LastEndpoint
		if rec.Group != "" {
			r.Group, r.Profile, r.Predicted = rec.Group, rec.Profile, false
		}
	}
	for _, l := range leases {
		r := rows[l.MAC]
		if r == nil {
			r = &machineRow{ID: l.MAC, Key: l.MAC, MAC: l.MAC}
			rows[l.MAC] = r
		}
		r.Leases = append(r.Leases, l)
	}
	out := make([]machineRow, 0, len(rows))
	for _, r := range rows {
		if r.State == "" {
			r.State = "unseen"
		}
		sort.Slice(r.Leases, func(i, j int) bool { return r.Leases[i].Pool < r.Leases[j].Pool })
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Registered != b.Registered {
			return a.Registered
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Key < b.Key
	})
	return out
}

// machineFilter is the machines page's query.
type machineFilter struct {
	State string
	Group string
	// Label is key=value (or just key: any value).
	Label string
	// Q matches a mac, uuid or name, in part, case-insensitively.
	Q string
}

func (f machineFilter) match(m *machineRow) bool {
	if f.State != "" && m.State != f.State {
		return false
	}
	if f.Group != "" && m.Group != f.Group {
		return false
	}
	if f.Label != "" {
		k, v, hasValue := strings.Cut(f.Label, "=")
		got, ok := m.Labels[strings.ToLower(strings.TrimSpace(k))]
		if !ok || (hasValue && got != strings.TrimSpace(v)) {
			return false
		}
	}
	if f.Q != "" {
		q := strings.ToLower(strings.TrimSpace(f.Q))
		q = strings.ReplaceAll(q, "-", ":")
		if !strings.Contains(m.MAC, q) && !strings.Contains(strings.ToLower(m.Name), q) && !strings.Contains(m.UUID, q) {
			return false
		}
	}
	return true
}

// poolRow is a pool with its addresses counted.
type poolRow struct {
	Name, CIDR, First, Last, Gateway   string
	Size, Pinned, Auto, Reserved, Free int
	// Bar are the bar's segments, in thousandths of its width.
	Bar []barSegment
}

type barSegment struct {
	Class string
	X, W  int
	Label string
}

// maxCountedPool bounds the addresses walked to count a pool's reserved
// ones; a larger pool counts its listed reservations and gateway.
const maxCountedPool = 1 << 16

func poolRows(snap *catalog.Snapshot, leases []ipam.Lease) []poolRow {
	if snap == nil {
		return nil
	}
	var out []poolRow
	for _, name := range sortedKeys(snap.Catalog.Pools) {
		p := snap.Catalog.Pools[name]
		r := poolRow{Name: name, CIDR: p.CIDR, First: p.First().String(), Last: p.Last().String(), Gateway: p.Gateway, Size: p.Size()}
		leased := map[netip.Addr]bool{}
		for _, l := range leases {
			if l.Pool != name {
				continue
			}
			leased[l.Address] = true
			if l.Pinned {
				r.Pinned++
			} else {
				r.Auto++
			}
		}
		r.Reserved = reservedFree(p, leased)
		r.Free = max(0, r.Size-r.Pinned-r.Auto-r.Reserved)
		r.Bar = bar(r)
		out = append(out, r)
	}
	return out
}

// reservedFree counts the reserved addresses in the range that no lease
// holds.
func reservedFree(p *ipam.Pool, leased map[netip.Addr]bool) int {
	n := 0
	if p.Size() <= maxCountedPool {
		for a := p.First(); a.IsValid() && !p.Last().Less(a); a = a.Next() {
			if p.IsReserved(a) && !leased[a] {
				n++
			}
		}
		return n
	}
	seen := map[netip.Addr]bool{}
	for _, s := range append(append([]string(nil), p.Reserved...), p.Gateway) {
		a, err := netip.ParseAddr(s)
		if err == nil && !seen[a] && p.InRange(a) && !leased[a] {
			seen[a] = true
			n++
		}
	}
	return n
}

func bar(r poolRow) []barSegment {
	if r.Size == 0 {
		return nil
	}
	var segs []barSegment
	x := 0
	for _, s := range []struct {
		class string
		n     int
		label string
	}{{"pinned", r.Pinned, "pinned"}, {"auto", r.Auto, "leased"}, {"reserved", r.Reserved, "reserved"}, {"free", r.Free, "free"}} {
		if s.n == 0 {
			continue
		}
		w := s.n * 1000 / r.Size
		if w == 0 {
			w = 2 // visible, however small
		}
		segs = append(segs, barSegment{Class: s.class, X: x, W: w, Label: s.label})
		x += w
	}
	if len(segs) > 0 && x != 1000 { // rounding: the last segment fills the bar
		last := &segs[len(segs)-1]
		last.W = max(1, last.W+1000-x)
	}
	return segs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// recentEvents returns the n latest events across machines, newest first:
// an event that counts repeats (inventory.Event.Repeats) by its last.
func recentEvents(inv []inventory.Machine, n int, prefix string) []liveEvent {
	// The n newest events can only come from the n machines seen last.
	idx := make([]int, len(inv))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return inv[idx[a]].LastSeen.After(inv[idx[b]].LastSeen) })
	if len(idx) > n {
		idx = idx[:n]
	}
	var all []liveEvent
	for _, i := range idx {
		m := &inv[i]
		for _, e := range m.Events {
			ev := Event{Time: e.Time, MAC: m.MAC, UUID: m.UUID, Endpoint: e.Endpoint, Group: e.Group, Profile: e.Profile, Remote: e.Remote, Status: e.Status}
			le := toLive(&ev, prefix)
			le.Repeats, le.Last = e.Repeats, e.Last
			all = append(all, le)
		}
	}
	latest := func(e *liveEvent) time.Time {
		if e.Repeats > 0 && e.Last.After(e.Time) {
			return e.Last
		}
		return e.Time
	}
	sort.Slice(all, func(i, j int) bool { return latest(&all[i]).After(latest(&all[j])) })
	if len(all) > n {
		all = all[:n]
	}
	return all
}
