// Package bolt is the embedded storage backend: one bbolt file under the
// data directory. Every write is one bbolt transaction; lease allocation is
// one read-write transaction that finds the lowest free address and writes
// both directions (address to machine, machine to address) together.
// Concurrent allocations are coalesced into shared transactions with
// bbolt's Batch, so a boot storm pays one fsync per batch, not per machine.
//
// Layout (bucket paths):
//
//	meta                         schema -> "1"
//	catalog/profiles             id -> profile JSON
//	catalog/groups               id -> group JSON
//	catalog/pools                name -> pool JSON
//	catalog/machines             name -> registry entry JSON
//	catalog/templates/<kind>     name -> template text
//	leases/<pool>/addr           16-byte address -> lease JSON
//	leases/<pool>/mac            mac -> 16-byte address
//	inventory                    key (mac) -> machine record JSON
package bolt
