// Package ipam describes IP pools and the address arithmetic behind leases:
// parsing and validating a pool, walking its assignable range, and the
// values (.ip in templates) a lease renders into.
//
// Allocation itself is a storage transaction (see package storage); this
// package decides which addresses a pool may hand out, never who has them.
package ipam
