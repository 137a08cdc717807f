// Package etcd is the storage backend for several provisiond replicas
// sharing one etcd cluster. There is no lock service and no leader among
// the replicas: every write is an etcd transaction guarded by compares,
// and every replica watches the prefix to keep its in-memory catalog and
// lease table current (storage.Watcher).
//
// Layout under the prefix P (default "/provisiond/"):
//
//	P meta/schema                 "1"
//	P catalog                     the whole catalog, gzip-compressed JSON, one key
//	P leases/<pool>/addr/<addr>   lease JSON (address -> machine)
//	P leases/<pool>/mac/<mac>     the same lease JSON (machine -> address)
//	P inventory/<key>             inventory record JSON
//
// The catalog is one key so that a replacement, with its lease changes, is
// one transaction: replicas and restarts see the old catalog or the new
// one, never a mixture; and that transaction compares the catalog key's
// revision with the one the change was computed from, so a replica never
// undoes another's write (storage.Store's ReplaceCatalogAt). A new lease
// is a transaction that succeeds only if neither its address key nor its
// machine key exists. Inventory records are merged with the stored ones.
// Requests are retried through leader elections (budget.go). docs/etcd.md
// has the guarantees with the tests that show them, the limits, and the
// behaviour when the cluster loses quorum.
package etcd
