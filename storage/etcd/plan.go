package etcd

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/storage"
)

// leaseState is every stored lease at one revision, with the revision at
// which each key was last changed: what a catalog replacement plans
// against and compares on.
type leaseState struct {
	pools map[string]*poolState
	rev   map[string]int64 // key -> mod revision
}

type poolState struct {
	byAddr map[netip.Addr]ipam.Lease
	byMAC  map[string]ipam.Lease
}

func (st *leaseState) pool(name string) *poolState {
	p := st.pools[name]
	if p == nil {
		p = &poolState{byAddr: map[netip.Addr]ipam.Lease{}, byMAC: map[string]ipam.Lease{}}
		st.pools[name] = p
	}
	return p
}

func (st *leaseState) clone() *leaseState {
	n := &leaseState{pools: map[string]*poolState{}, rev: st.rev}
	for name, p := range st.pools {
		q := n.pool(name)
		for k, v := range p.byAddr {
			q.byAddr[k] = v
		}
		for k, v := range p.byMAC {
			q.byMAC[k] = v
		}
	}
	return n
}

func (p *poolState) put(l ipam.Lease) {
	p.byAddr[l.Address] = l
	p.byMAC[l.MAC] = l
}

func (p *poolState) del(l ipam.Lease) {
	delete(p.byAddr, l.Address)
	delete(p.byMAC, l.MAC)
}

// readLeases reads every lease key in one range read (one revision).
func (s *Store) readLeases(ctx context.Context) (*leaseState, error) {
	var resp *clientv3.GetResponse
	err := s.doLong(ctx, "reading leases", func(ctx context.Context) (err error) {
		resp, err = s.cli.Get(ctx, s.leasesPrefix(), clientv3.WithPrefix())
		return err
	})
	if err != nil {
		return nil, err
	}
	st := &leaseState{pools: map[string]*poolState{}, rev: map[string]int64{}}
	for _, kv := range resp.Kvs {
		key := string(kv.Key)
		st.rev[key] = kv.ModRevision
		pool, kind, _, ok := s.leaseKey(key)
		if !ok {
			continue
		}
		l, err := decodeLease(key, kv.Value)
		if err != nil {
			return nil, err
		}
		switch kind {
		case "addr":
			st.pool(pool).byAddr[l.Address] = l
		case "mac":
			st.pool(pool).byMAC[l.MAC] = l
		}
	}
	return st, nil
}

// plan applies ops to a copy of st as bolt applies them in its
// transaction: pins as a set (first every pinned machine leaves the
// address it is leaving), then each op in order. It returns the state the
// ops lead to, or the error that refuses them all.
func plan(st *leaseState, ops []storage.LeaseOp, now int64) (*leaseState, error) {
	next := st.clone()
	for _, op := range ops {
		if op.Kind != storage.OpPin {
			continue
		}
		p := next.pool(op.Pool.Name)
		if old, ok := p.byMAC[op.MAC]; ok && old.Address != op.Address {
			p.del(old)
		}
	}
	for _, op := range ops {
		switch op.Kind {
		case storage.OpRelease:
			for _, p := range next.pools {
				if old, ok := p.byMAC[op.MAC]; ok {
					p.del(old)
				}
			}
		case storage.OpPin:
			p := next.pool(op.Pool.Name)
			if held, ok := p.byAddr[op.Address]; ok && held.MAC != op.MAC {
				return nil, fmt.Errorf("%w: machine %s pins %s in pool %s, which %s holds since %s; release that lease first",
					storage.ErrConflict, op.Machine, op.Address, op.Pool.Name, held.MAC, time.Unix(held.Created, 0).UTC().Format(time.RFC3339))
			}
			created := now
			if old, ok := p.byMAC[op.MAC]; ok {
				created = old.Created
				p.del(old)
			}
			p.put(ipam.Lease{Pool: op.Pool.Name, Address: op.Address, MAC: op.MAC, Pinned: true, Created: created})
		case storage.OpEnsure:
			p := next.pool(op.Pool.Name)
			if _, ok := p.byMAC[op.MAC]; ok {
				continue
			}
			a, err := op.Pool.FirstFree(func(a netip.Addr) bool { _, taken := p.byAddr[a]; return taken })
			if err != nil {
				return nil, fmt.Errorf("machine %s: %w", op.Machine, err)
			}
			p.put(ipam.Lease{Pool: op.Pool.Name, Address: a, MAC: op.MAC, Created: now})
		default:
			return nil, fmt.Errorf("unknown lease op %v", op.Kind)
		}
	}
	return next, nil
}

// txnOps returns the compares and writes that turn st into next: deletes
// first, then puts, each key once (etcd refuses a key twice in one
// transaction), each under a compare that it is as st read it.
func (s *Store) txnOps(st, next *leaseState) ([]clientv3.Cmp, []clientv3.Op) {
	type change struct {
		key string
		put string // "" deletes
	}
	var changes []change
	names := map[string]bool{}
	for name := range st.pools {
		names[name] = true
	}
	for name := range next.pools {
		names[name] = true
	}
	for name := range names {
		a, b := st.pool(name), next.pool(name)
		for addr := range a.byAddr {
			if _, ok := b.byAddr[addr]; !ok {
				changes = append(changes, change{key: s.addrKey(name, addr)})
			}
		}
		for addr, l := range b.byAddr {
			if old, ok := a.byAddr[addr]; !ok || old != l {
				changes = append(changes, change{key: s.addrKey(name, addr), put: encodeLease(l)})
			}
		}
		for mac := range a.byMAC {
			if _, ok := b.byMAC[mac]; !ok {
				changes = append(changes, change{key: s.macKey(name, mac)})
			}
		}
		for mac, l := range b.byMAC {
			if old, ok := a.byMAC[mac]; !ok || old != l {
				changes = append(changes, change{key: s.macKey(name, mac), put: encodeLease(l)})
			}
		}
	}
	sort.Slice(changes, func(i, j int) bool {
		if (changes[i].put == "") != (changes[j].put == "") {
			return changes[i].put == ""
		}
		return changes[i].key < changes[j].key
	})
	cmps := make([]clientv3.Cmp, 0, len(changes))
	ops := make([]clientv3.Op, 0, len(changes)+1)
	for _, c := range changes {
		if rev, ok := st.rev[c.key]; ok {
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(c.key), "=", rev))
		} else {
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(c.key), "=", 0))
		}
		if c.put == "" {
			ops = append(ops, clientv3.OpDelete(c.key))
		} else {
			ops = append(ops, clientv3.OpPut(c.key, c.put))
		}
	}
	return cmps, ops
}

// fresh returns the automatic leases of next whose address and machine
// have no key in st: they can be written ahead of the rest without
// touching anything stored.
func (next *leaseState) fresh(st *leaseState) []ipam.Lease {
	var out []ipam.Lease
	for name, p := range next.pools {
		old := st.pool(name)
		for addr, l := range p.byAddr {
			if l.Pinned {
				continue
			}
			if _, ok := old.byAddr[addr]; ok {
				continue
			}
			if _, ok := old.byMAC[l.MAC]; ok {
				continue
			}
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pool != out[j].Pool {
			return out[i].Pool < out[j].Pool
		}
		return out[i].Address.Less(out[j].Address)
	})
	return out
}
