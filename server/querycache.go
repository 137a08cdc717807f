package server

import (
	"hash/maphash"
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
// index; everything that depends on more than the query (its lease, its
// inventory state, its boot token, the server URL, the render caches) is
// looked up per request as before.
//
// It is a fixed table of queryCacheSlots entries, each slot the last query
// whose hash fell into it: no lock, a bounded size whatever the clients
// send (queries longer than maxCachedQuery are not kept), and an entry
// is immutable once stored, so requests share it. Entries carry the
// epoch of the snapshot they were matched in (Server.Swap counts
// epochs): a match is used only in its own epoch, and Swap empties the
// table so that the old snapshot's groups are not kept alive by it.
type queryCache struct {
	seed  maphash.Seed
	slots [queryCacheSlots]atomic.Pointer[queryEntry]
}

// queryCacheSlots is the table's size: several times the machines a
// steady state cycles through (bootstorm: 1,000, two queries each), at
// most about 2 MiB of entries.
const queryCacheSlots = 4096

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
}

func newQueryCache() *queryCache {
	return &queryCache{seed: maphash.MakeSeed()}
}

func (c *queryCache) slot(raw string) *atomic.Pointer[queryEntry] {
	return &c.slots[maphash.String(c.seed, raw)&(queryCacheSlots-1)]
}

// get returns the entry of raw, nil when it is not kept.
func (c *queryCache) get(raw string) *queryEntry {
	if c == nil || len(raw) > maxCachedQuery {
		return nil
	}
	if e := c.slot(raw).Load(); e != nil && e.raw == raw {
		return e
	}
	return nil
}

// put keeps e (in place of whatever its slot held).
func (c *queryCache) put(e *queryEntry) {
	if c == nil || len(e.raw) > maxCachedQuery {
		return
	}
	c.slot(e.raw).Store(e)
}

// clear drops every entry.
func (c *queryCache) clear() {
	for i := range c.slots {
		c.slots[i].Store(nil)
	}
}

// served is the snapshot being served and its epoch, swapped together.
type served struct {
	snap  *catalog.Snapshot
	epoch uint64
}
