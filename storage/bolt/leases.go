package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/netip"
	"strconv"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/storage"
)

// addrKey is the sortable 16-byte form of an address (IPv4 as 4in6).
func addrKey(a netip.Addr) []byte {
	b := a.As16()
	return b[:]
}

// poolBuckets returns (creating them when create is set) the addr and mac
// buckets of a pool; nil, nil when they do not exist and create is unset.
func poolBuckets(tx *bbolt.Tx, pool string, create bool) (addr, mac *bbolt.Bucket, err error) {
	root := tx.Bucket(bLeases)
	pb := root.Bucket([]byte(pool))
	if pb == nil {
		if !create {
			return nil, nil, nil
		}
		if pb, err = root.CreateBucket([]byte(pool)); err != nil {
			return nil, nil, err
		}
	}
	if !create {
		return pb.Bucket(bAddr), pb.Bucket(bMAC), nil
	}
	if addr, err = pb.CreateBucketIfNotExists(bAddr); err != nil {
		return nil, nil, err
	}
	if mac, err = pb.CreateBucketIfNotExists(bMAC); err != nil {
		return nil, nil, err
	}
	return addr, mac, nil
}

func readLease(addrB *bbolt.Bucket, key []byte) (ipam.Lease, error) {
	var l ipam.Lease
	v := addrB.Get(key)
	if v == nil {
		return l, storage.ErrNotFound
	}
	err := decodeLease(v, &l)
	return l, err
}

func writeLease(addrB, macB *bbolt.Bucket, l ipam.Lease) error {
	data, err := json.Marshal(l)
	if err != nil {
		return err
	}
	k := addrKey(l.Address)
	if err := addrB.Put(k, data); err != nil {
		return err
	}
	return macB.Put([]byte(l.MAC), k)
}

// bHint is the key, in a pool's bucket, of where the search for the
// lowest free address starts: every assignable address of the pool below
// it is leased. It is written in the transaction that leases the address
// before it, so it commits or rolls back with that lease and is serialized
// by bbolt's single writer; any transaction that frees an address deletes
// it. It carries a fingerprint of the pool's range and reservations, so a
// pool whose definition changed is searched from its start again. Without
// it every allocation would walk all the pool's leases: a boot storm into
// one /16 would cost O(leases) per machine.
var bHint = []byte("next")

// poolFingerprint identifies a pool's definition as far as allocation is
// concerned.
func poolFingerprint(p *ipam.Pool) []byte {
	h := fnv.New64a()
	for _, s := range append([]string{p.CIDR, p.Start, p.End, p.Gateway}, p.Reserved...) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// readHint returns where to start looking for pool's lowest free address.
func readHint(pb *bbolt.Bucket, pool *ipam.Pool) netip.Addr {
	first := pool.First()
	v := pb.Get(bHint)
	if len(v) != 8+16 || !bytes.Equal(v[:8], poolFingerprint(pool)) {
		return first
	}
	a := netip.AddrFrom16([16]byte(v[8:])).Unmap()
	if a.BitLen() != first.BitLen() || !pool.InRange(a) {
		return first
	}
	return a
}

// writeHint records that every assignable address below next is leased.
func writeHint(pb *bbolt.Bucket, pool *ipam.Pool, next netip.Addr) error {
	if !next.IsValid() {
		return pb.Delete(bHint)
	}
	return pb.Put(bHint, append(poolFingerprint(pool), addrKey(next)...))
}

// dropHint forgets pool's hint after an address was freed.
func dropHint(tx *bbolt.Tx, pool []byte) error {
	if pb := tx.Bucket(bLeases).Bucket(pool); pb != nil {
		return pb.Delete(bHint)
	}
	return nil
}

// allocate gives mac a lease in pool inside tx, or returns its existing one.
func allocate(tx *bbolt.Tx, pool *ipam.Pool, mac string, now int64) (ipam.Lease, error) {
	addrB, macB, err := poolBuckets(tx, pool.Name, true)
	if err != nil {
		return ipam.Lease{}, err
	}
	if k := macB.Get([]byte(mac)); k != nil {
		return readLease(addrB, k)
	}
	pb := tx.Bucket(bLeases).Bucket([]byte(pool.Name))
	// Walk the pool's range from the hint and the sorted address keys
	// together; the first assignable address with no key is the lowest
	// free one.
	c := addrB.Cursor()
	a := readHint(pb, pool)
	k, _ := c.Seek(addrKey(a))
	for ; a.IsValid() && pool.InRange(a); a = a.Next() {
		if pool.IsReserved(a) {
			continue
		}
		ak := addrKey(a)
		for k != nil && bytes.Compare(k, ak) < 0 {
			k, _ = c.Next()
		}
		if k != nil && bytes.Equal(k, ak) {
			continue
		}
		l := ipam.Lease{Pool: pool.Name, Address: a, MAC: mac, Created: now}
		if err := writeLease(addrB, macB, l); err != nil {
			return l, err
		}
		return l, writeHint(pb, pool, a.Next())
	}
	return ipam.Lease{}, fmt.Errorf("%w: %q has no free address in %s-%s", ipam.ErrExhausted, pool.Name, pool.First(), pool.Last())
}

// Allocate implements storage.Store. Concurrent calls share transactions
// (bbolt Batch); each returns only after its transaction is on disk.
func (s *Store) Allocate(ctx context.Context, pool *ipam.Pool, mac string) (ipam.Lease, error) {
	var l ipam.Lease
	err := s.db.Batch(func(tx *bbolt.Tx) error {
		var err error
		l, err = allocate(tx, pool, mac, time.Now().Unix())
		return err
	})
	return l, s.fail(err)
}

// Leases implements storage.Store.
func (s *Store) Leases(ctx context.Context) ([]ipam.Lease, error) {
	var out []ipam.Lease
	err := guard(s.path, func() error {
		return s.db.View(func(tx *bbolt.Tx) error {
			walk := newResidentWalk(tx) // decodeLease copies what it keeps
			return tx.Bucket(bLeases).ForEachBucket(func(pool []byte) error {
				addrB, _, _ := poolBuckets(tx, string(pool), false)
				if addrB == nil {
					return nil
				}
				return addrB.ForEach(func(k, v []byte) error {
					var l ipam.Lease
					if err := decodeLease(v, &l); err != nil {
						return damaged(s.path, fileSize(s.path), "stored lease %s/%x does not decode: %v", pool, k, err)
					}
					out = append(out, l)
					walk.read(len(k) + len(v))
					return nil
				})
			})
		})
	})
	return out, s.fail(err)
}

// Release implements storage.Store.
func (s *Store) Release(ctx context.Context, pool string, addr netip.Addr) (ipam.Lease, error) {
	var l ipam.Lease
	err := s.db.Update(func(tx *bbolt.Tx) error {
		addrB, macB, _ := poolBuckets(tx, pool, false)
		if addrB == nil {
			return fmt.Errorf("lease %s/%s: %w", pool, addr, storage.ErrNotFound)
		}
		var err error
		if l, err = readLease(addrB, addrKey(addr)); err != nil {
			return fmt.Errorf("lease %s/%s: %w", pool, addr, err)
		}
		if err := addrB.Delete(addrKey(addr)); err != nil {
			return err
		}
		if err := dropHint(tx, []byte(pool)); err != nil {
			return err
		}
		return macB.Delete([]byte(l.MAC))
	})
	return l, s.fail(err)
}

// applyOp applies one catalog lease operation inside tx.
func applyOp(tx *bbolt.Tx, op storage.LeaseOp, now int64) error {
	switch op.Kind {
	case storage.OpRelease:
		return tx.Bucket(bLeases).ForEachBucket(func(pool []byte) error {
			addrB, macB, _ := poolBuckets(tx, string(pool), false)
			if addrB == nil {
				return nil
			}
			if k := macB.Get([]byte(op.MAC)); k != nil {
				if err := addrB.Delete(k); err != nil {
					return err
				}
				if err := dropHint(tx, pool); err != nil {
					return err
				}
				return macB.Delete([]byte(op.MAC))
			}
			return nil
		})
	case storage.OpPin:
		addrB, macB, err := poolBuckets(tx, op.Pool.Name, true)
		if err != nil {
			return err
		}
		k := addrKey(op.Address)
		if held, err := readLease(addrB, k); err == nil && held.MAC != op.MAC {
			return fmt.Errorf("%w: machine %s pins %s in pool %s, which %s holds since %s; release that lease first",
				storage.ErrConflict, op.Machine, op.Address, op.Pool.Name, held.MAC, time.Unix(held.Created, 0).UTC().Format(time.RFC3339))
		}
		created := now
		if old := macB.Get([]byte(op.MAC)); old != nil {
			if prev, err := readLease(addrB, old); err == nil {
				created = prev.Created
			}
			if !bytes.Equal(old, k) {
				if err := addrB.Delete(old); err != nil {
					return err
				}
				if err := dropHint(tx, []byte(op.Pool.Name)); err != nil {
					return err
				}
			}
		}
		return writeLease(addrB, macB, ipam.Lease{Pool: op.Pool.Name, Address: op.Address, MAC: op.MAC, Pinned: true, Created: created})
	case storage.OpEnsure:
		_, err := allocate(tx, op.Pool, op.MAC, now)
		if err != nil {
			return fmt.Errorf("machine %s: %w", op.Machine, err)
		}
		return nil
	}
	return fmt.Errorf("unknown lease op %v", op.Kind)
}

// vacate deletes the pinned machine's lease in the pin's pool when it is at
// another address than the pin; the pin then writes a new lease.
func vacate(tx *bbolt.Tx, op storage.LeaseOp) error {
	addrB, macB, err := poolBuckets(tx, op.Pool.Name, false)
	if err != nil || addrB == nil {
		return err
	}
	old := macB.Get([]byte(op.MAC))
	if old == nil || bytes.Equal(old, addrKey(op.Address)) {
		return nil
	}
	if err := addrB.Delete(old); err != nil {
		return err
	}
	if err := dropHint(tx, []byte(op.Pool.Name)); err != nil {
		return err
	}
	return macB.Delete([]byte(op.MAC))
}

// decodeLease decodes a lease record. Records are written by json.Marshal
// of ipam.Lease, whose shape is fixed; that shape is parsed directly (a
// tenth of encoding/json's time, which at 100,000 leases is most of the
// start-up check), anything else goes to encoding/json.
func decodeLease(v []byte, l *ipam.Lease) error {
	if fastLease(v, l) {
		return nil
	}
	*l = ipam.Lease{}
	return json.Unmarshal(v, l)
}

// fastLease parses {"pool":"P","address":"A","mac":"M","pinned":B,"created":N}
// with no escapes in the strings, and reports whether v had that shape.
func fastLease(v []byte, l *ipam.Lease) bool {
	str := func(key string) (string, bool) {
		if !bytes.HasPrefix(v, []byte(key)) {
			return "", false
		}
		v = v[len(key):]
		end := bytes.IndexByte(v, '"')
		if end < 0 {
			return "", false
		}
		for _, c := range v[:end] {
			if c < 0x20 || c >= 0x80 || c == '\\' { // escapes, control bytes, UTF-8: encoding/json's
				return "", false
			}
		}
		s := string(v[:end])
		v = v[end+1:]
		return s, true
	}
	pool, ok := str(`{"pool":"`)
	if !ok {
		return false
	}
	addr, ok := str(`,"address":"`)
	if !ok {
		return false
	}
	mac, ok := str(`,"mac":"`)
	if !ok {
		return false
	}
	var pinned bool
	switch {
	case bytes.HasPrefix(v, []byte(`,"pinned":true`)):
		pinned, v = true, v[len(`,"pinned":true`):]
	case bytes.HasPrefix(v, []byte(`,"pinned":false`)):
		v = v[len(`,"pinned":false`):]
	default:
		return false
	}
	if !bytes.HasPrefix(v, []byte(`,"created":`)) || len(v) < len(`,"created":`)+2 || v[len(v)-1] != '}' {
		return false
	}
	num := v[len(`,"created":`) : len(v)-1]
	digits := bytes.TrimPrefix(num, []byte("-"))
	if len(digits) == 0 || len(digits) > 1 && digits[0] == '0' || bytes.ContainsFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) {
		return false // not a JSON integer as json.Marshal writes it
	}
	created, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return false
	}
	*l = ipam.Lease{Pool: pool, Address: a, MAC: mac, Pinned: pinned, Created: created}
	return true
}
