package bolt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/provisiond/provisiond/ipam"
)

// checkStore runs bbolt's own consistency check and checks that the two
// directions of the lease index agree exactly, and that Leases lists no
// address or mac twice. It returns the leases.
func checkStore(t *testing.T, s *Store) []ipam.Lease {
	t.Helper()
	err := s.db.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("bbolt check: %v", err)
		}
		return tx.Bucket(bLeases).ForEachBucket(func(pool []byte) error {
			addrB, macB, _ := poolBuckets(tx, string(pool), false)
			if addrB == nil || macB == nil {
				return fmt.Errorf("pool %s: missing addr or mac bucket", pool)
			}
			n := 0
			err := addrB.ForEach(func(k, v []byte) error {
				n++
				var l ipam.Lease
				if err := json.Unmarshal(v, &l); err != nil {
					return fmt.Errorf("pool %s: lease %x: %w", pool, k, err)
				}
				if l.Pool != string(pool) || !bytes.Equal(addrKey(l.Address), k) {
					t.Errorf("pool %s: key %x holds %+v", pool, k, l)
				}
				if back := macB.Get([]byte(l.MAC)); !bytes.Equal(back, k) {
					t.Errorf("pool %s: %s holds %s but its mac maps to %x", pool, l.MAC, l.Address, back)
				}
				return nil
			})
			if err != nil {
				return err
			}
			m := 0
			err = macB.ForEach(func(mac, k []byte) error {
				m++
				if addrB.Get(k) == nil {
					t.Errorf("pool %s: mac %s maps to %x, which has no lease", pool, mac, k)
				}
				return nil
			})
			if n != m {
				t.Errorf("pool %s: %d addresses but %d macs", pool, n, m)
			}
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	leases, err := s.Leases(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	addrs, macs := map[string]bool{}, map[string]bool{}
	for _, l := range leases {
		a, m := l.Pool+" "+l.Address.String(), l.Pool+" "+l.MAC
		if addrs[a] || macs[m] {
			t.Errorf("listed twice: %s or %s", a, m)
		}
		addrs[a], macs[m] = true, true
	}
	return leases
}
