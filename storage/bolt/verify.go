package bolt

import (
	"bytes"
	"fmt"
	"net/netip"

	bbolt "go.etcd.io/bbolt"

	"github.com/provisiond/provisiond/ipam"
)

// LeaseCount is what checkLeases found: leases and pools.
type LeaseCount struct {
	Leases, Pools int
}

// checkLeases checks every lease of the store: each record decodes, names
// the pool it is filed under and the address it is keyed by, and the two
// directions of the index agree one to one (each address's record names a
// mac that maps back to that address, and each mac maps to an address
// whose record names it). It calls problem for each disagreement, naming
// pool, address and macs, and stops early when problem returns false.
func checkLeases(tx *bbolt.Tx, problem func(string) bool) (LeaseCount, error) {
	var count LeaseCount
	root := tx.Bucket(bLeases)
	if root == nil {
		return count, nil
	}
	stop := fmt.Errorf("stop")
	say := func(format string, args ...any) error {
		if !problem(fmt.Sprintf(format, args...)) {
			return stop
		}
		return nil
	}
	err := root.ForEachBucket(func(pool []byte) error {
		count.Pools++
		pb := root.Bucket(pool)
		addrB, macB := pb.Bucket(bAddr), pb.Bucket(bMAC)
		if addrB == nil || macB == nil {
			if (addrB != nil && addrB.Stats().KeyN > 0) || (macB != nil && macB.Stats().KeyN > 0) {
				return say("pool %s: one direction of the lease index is missing", pool)
			}
			return nil
		}
		// mac -> address, as the lease records say.
		held := make(map[string]netip.Addr, 256)
		var l ipam.Lease
		err := addrB.ForEach(func(k, v []byte) error {
			count.Leases++
			if len(k) != 16 {
				return say("pool %s: lease key %x is not an address", pool, k)
			}
			key := netip.AddrFrom16([16]byte(k)).Unmap()
			if err := decodeLease(v, &l); err != nil {
				return say("pool %s: address %s: the lease record does not decode: %v", pool, key, err)
			}
			if l.MAC == "" {
				return say("pool %s: address %s: the lease record names no mac", pool, key)
			}
			if prev, dup := held[l.MAC]; dup {
				return say("pool %s: mac %s holds two addresses, %s and %s", pool, l.MAC, prev, key)
			}
			// Filed under key, whatever the record says: the mac pass
			// compares the index with where the record is.
			held[l.MAC] = key
			switch {
			case !bytes.Equal(addrKey(l.Address), k):
				other := ""
				if v := addrB.Get(addrKey(l.Address)); v != nil {
					var o ipam.Lease
					if decodeLease(v, &o) == nil {
						other = fmt.Sprintf(", an address whose own record gives it to mac %s", o.MAC)
					}
				}
				return say("pool %s: address %s: the lease record says address %s (mac %s)%s", pool, key, l.Address, l.MAC, other)
			case l.Pool != string(pool):
				return say("pool %s: address %s: the lease record says pool %q (mac %s)", pool, key, l.Pool, l.MAC)
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = macB.ForEach(func(mac, k []byte) error {
			a, ok := held[string(mac)]
			target := "?"
			if len(k) == 16 {
				target = netip.AddrFrom16([16]byte(k)).Unmap().String()
			}
			switch {
			case !ok:
				owner := "no lease record"
				if v := addrB.Get(k); v != nil {
					var o ipam.Lease
					if decodeLease(v, &o) == nil {
						owner = "the lease record names mac " + o.MAC
					}
				}
				return say("pool %s: address %s: mac %s maps to it, but %s", pool, target, mac, owner)
			case !bytes.Equal(addrKey(a), k):
				other := "no lease record"
				if v := addrB.Get(k); v != nil {
					var o ipam.Lease
					if decodeLease(v, &o) == nil {
						other = "whose lease record names mac " + o.MAC
					}
				}
				return say("pool %s: mac %s maps to address %s (%s), but its lease record is at %s", pool, mac, target, other, a)
			}
			delete(held, string(mac))
			return nil
		})
		if err != nil {
			return err
		}
		for mac, a := range held {
			if err := say("pool %s: address %s: the lease record names mac %s, but that mac maps to no address", pool, a, mac); err != nil {
				return err
			}
		}
		return nil
	})
	if err == stop {
		err = nil
	}
	return count, err
}

// verify checks the leases of an open database and returns the first
// disagreement as an ErrDamaged error naming the file.
func verify(db *bbolt.DB, path string, size int64) error {
	var first string
	err := db.View(func(tx *bbolt.Tx) error {
		_, err := checkLeases(tx, func(p string) bool { first = p; return false })
		return err
	})
	if err != nil {
		return damaged(path, size, "reading the leases: %v", err)
	}
	if first != "" {
		return damaged(path, size, "%s", first)
	}
	return nil
}
