package server

import (
	"hash/maphash"
	"math/rand/v2"
	"sync/atomic"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/resolve"
)

// queryCache remembers what a boot request's raw query parses to
// (resolve.ParseQuery), the hardware facts it carries
// (inventory.HardwareFrom) and what it matched in the snapshot being
// served (catalog.Snapshot.Resolve): all three depend on nothing else,
// and a snapshot is immutable. A machine that asks again (a retry, a
// reboot, /ipxe then its config and /metadata, which share "mac=..."),
// is then answered without parsing its query or searching the group
// index. An entry also keeps each endpoint's rendered answer (answer),
// with what else it depends on (the server URL, the boot token, the lease
// tables' generation), checked per request, and the machine's inventory
// record (Server.record); install once's state is looked up per request.
//
// It is a fixed table of queryCacheSlots entries in sets of queryCacheWays
// (a query's hash picks its set; a new query takes an empty way of it, or
// a random one): no lock, a bounded size whatever the clients send
// (queries longer than maxCachedQuery are not kept), and an entry is
// immutable once stored, so requests share it. Entries carry the
// epoch of the snapshot they were matched in (Server.Swap counts
// epochs): a match is used only in its own epoch, and Swap empties the
// table so that the old snapshot's groups are not kept alive by it.
type queryCache struct {
	seed  maphash.Seed
	slots [queryCacheSlots]querySlot
	// answerBytes counts the bytes of the answers stored since the
	// table was last emptied (maxAnswerBytes).
	answerBytes atomic.Int64
}

// querySlot is one way of a set: the entry and its query's hash, which
// get compares before it reads the entry (a set of four is one cache
// line; every entry read is a miss of its own). The hash is a hint, the
// entry's query decides.
type querySlot struct {
	hash  atomic.Uint64
	entry atomic.Pointer[queryEntry]
}

// queryCacheSlots is the table's size: several times the queries of the
// machines a steady state cycles through (bootstorm: 1,000 machines, two
// queries each, which leave under 1% of the sets full), at most about
// 16 MiB of entries (the bound on a query's length bounds its labels).
// queryCacheWays is the size of a set: with one way, a quarter of
// bootstorm's queries would share their slot with another and evict each
// other at every turn.
const (
	queryCacheSlots = 8192
	queryCacheWays  = 4
)

// maxCachedQuery is the longest raw query kept: an iPXE chain's is about
// 150 bytes; the bound keeps a hostile client from pinning megabytes.
const maxCachedQuery = 512

// queryEntry is one raw query, parsed and matched. It is never modified
// once stored.
type queryEntry struct {
	raw string
	// facts are ParseQuery's, ServerURL unset (set per request).
	facts resolve.Facts
	// hw is inventory.HardwareFrom of the facts' labels, which the
	// match's Query is.
	hw inventory.Hardware
	// epoch is the snapshot epoch match and err were found in; 0: not
	// matched yet.
	epoch uint64
	match *catalog.Match
	err   error
	// group and profile are match's group's id and profile, and
	// installOnce installOnce(match): what the answer path reads of the
	// match, kept here so that a cached answer reads neither the match
	// nor its group and profile (each a cache miss when a thousand
	// machines take turns).
	group, profile string
	installOnce    bool
	// answers are the endpoints' rendered answers to the query, from
	// match (answer, Server.answered): the only part of an entry that
	// changes once stored, each answer swapped whole.
	answers answers
	// inv is the inventory's record of match's machine, set on its first
	// record (Server.record).
	inv atomic.Pointer[inventory.Handle]
}

func newQueryCache() *queryCache {
	return &queryCache{seed: maphash.MakeSeed()}
}

// set returns raw's hash and the ways of its set.
func (c *queryCache) set(raw string) (uint64, []querySlot) {
	h := maphash.String(c.seed, raw)
	i := h & (queryCacheSlots - 1) &^ (queryCacheWays - 1)
	return h, c.slots[i : i+queryCacheWays]
}

// get returns the entry of raw, nil when it is not kept.
func (c *queryCache) get(raw string) *queryEntry {
	if c == nil || len(raw) > maxCachedQuery {
		return nil
	}
	h, set := c.set(raw)
	for i := range set {
		if set[i].hash.Load() != h {
			continue
		}
		if e := set[i].entry.Load(); e != nil && e.raw == raw {
			return e
		}
	}
	return nil
}

// put keeps e: in place of raw's entry, else in an empty way of its set,
// else in place of a random one.
func (c *queryCache) put(e *queryEntry) {
	if c == nil || len(e.raw) > maxCachedQuery {
		return
	}
	h, set := c.set(e.raw)
	way := -1
	for i := range set {
		old := set[i].entry.Load()
		if old != nil && old.raw == e.raw {
			way = i
			break
		}
		if old == nil && way < 0 {
			way = i
		}
	}
	if way < 0 {
		way = rand.IntN(queryCacheWays)
	}
	// The entry before its hash: a reader that sees the new hash with
	// the old entry (or the reverse) compares the query and misses.
	set[way].entry.Store(e)
	set[way].hash.Store(h)
}

// clear drops every entry.
func (c *queryCache) clear() {
	for i := range c.slots {
		c.slots[i].entry.Store(nil)
	}
	c.answerBytes.Store(0)
}

// served is the snapshot being served and its epoch, swapped together.
type served struct {
	snap  *catalog.Snapshot
	epoch uint64
}
