package etcd

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/provisiond/provisiond/ipam"
)

// Key layout under the prefix P (see doc.go and docs/etcd.md):
//
//	P meta/schema                 "1"
//	P catalog                     the whole catalog: gzip-compressed JSON
//	P leases/<pool>/addr/<addr>   lease JSON (address -> machine)
//	P leases/<pool>/mac/<mac>     the same lease JSON (machine -> address)
//	P inventory/<key>             inventory record JSON

func (s *Store) catalogKey() string   { return s.cfg.Prefix + "catalog" }
func (s *Store) leasesPrefix() string { return s.cfg.Prefix + "leases/" }
func (s *Store) poolPrefix(p string) string {
	return s.cfg.Prefix + "leases/" + p + "/"
}
func (s *Store) addrKey(pool string, a netip.Addr) string {
	return s.poolPrefix(pool) + "addr/" + a.String()
}
func (s *Store) macKey(pool, mac string) string { return s.poolPrefix(pool) + "mac/" + mac }
func (s *Store) inventoryPrefix() string        { return s.cfg.Prefix + "inventory/" }

// leaseKey splits a key under leases/ into its pool, its kind ("addr" or
// "mac") and its last element.
func (s *Store) leaseKey(key string) (pool, kind, last string, ok bool) {
	rest, ok := strings.CutPrefix(key, s.leasesPrefix())
	if !ok {
		return "", "", "", false
	}
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return "", "", "", false
	}
	last, rest = rest[i+1:], rest[:i]
	j := strings.LastIndexByte(rest, '/')
	if j < 0 {
		return "", "", "", false
	}
	return rest[:j], rest[j+1:], last, true
}

func encodeLease(l ipam.Lease) string {
	data, err := json.Marshal(l)
	if err != nil {
		panic(err) // a Lease always marshals
	}
	return string(data)
}

func decodeLease(key string, v []byte) (ipam.Lease, error) {
	var l ipam.Lease
	if err := json.Unmarshal(v, &l); err != nil {
		return l, fmt.Errorf("stored lease %s: %w", key, err)
	}
	return l, nil
}
