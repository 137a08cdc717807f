//go:build !linux

package bolt

import bbolt "go.etcd.io/bbolt"

// dropResident does nothing outside Linux (see resident_linux.go).
func dropResident(*bbolt.Tx) {}
