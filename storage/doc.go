// Package storage is provisiond's persistence contract: the catalog
// objects, IP leases and the machine inventory. Backends live in
// subpackages (storage/bolt, the embedded default; storage/etcd, for
// several replicas); every backend must pass the one conformance suite in
// storage/storagetest. A backend that several processes share also
// implements Watcher, and Catalogs.Follow keeps each replica current.
//
// Two rules hold for every backend. One machine holds at most one lease per
// pool and one address belongs to at most one machine, always, across
// restarts, crashes and replicas. And every write is all-or-nothing: a
// catalog replacement with its lease changes lands whole or not at all.
package storage
