package etcd

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/storage"
)

// Allocate implements storage.Store. Allocations for one pool that
// arrive together in this process share a read and a transaction, so a
// boot storm costs a few requests to etcd, not one or two per machine
// (and not a storm of retries when etcd is slow), and fills the pool from
// the bottom. The shared read returns the lease of a machine that has one.
// New leases are written in transactions that succeed only if neither the
// address key nor the machine key exists (create revision 0); when another
// writer got there first, the pool is read again and the next free
// addresses are tried.
func (s *Store) Allocate(ctx context.Context, pool *ipam.Pool, mac string) (ipam.Lease, error) {
	if s.closed.Load() {
		return ipam.Lease{}, errClosed
	}
	return s.batcher(pool.Name).allocate(s, pool, mac)
}

// allocReq is one machine waiting for its lease.
type allocReq struct {
	pool *ipam.Pool
	mac  string
	l    ipam.Lease
	err  error
	done chan struct{}
}

// batcher queues the allocations of one pool; whichever waiting caller
// holds commit writes the queue's head for everyone.
type batcher struct {
	mu     sync.Mutex
	queue  []*allocReq
	commit sync.Mutex
}

func (s *Store) batcher(pool string) *batcher {
	s.batchMu.Lock()
	defer s.batchMu.Unlock()
	b := s.batchers[pool]
	if b == nil {
		b = &batcher{}
		s.batchers[pool] = b
	}
	return b
}

func (b *batcher) allocate(s *Store, pool *ipam.Pool, mac string) (ipam.Lease, error) {
	r := &allocReq{pool: pool, mac: mac, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, r)
	b.mu.Unlock()
	for {
		select {
		case <-r.done:
			return r.l, r.err
		default:
		}
		b.commit.Lock()
		select {
		case <-r.done:
			b.commit.Unlock()
			return r.l, r.err
		default:
		}
		// The head of the queue, as many as one transaction holds, all
		// for the same pool definition (a reload may have changed it).
		b.mu.Lock()
		head := b.queue[0].pool
		var batch, rest []*allocReq
		for _, q := range b.queue {
			if q.pool == head && len(batch) < max(1, s.cfg.MaxTxnOps/2) {
				batch = append(batch, q)
			} else {
				rest = append(rest, q)
			}
		}
		b.queue = rest
		b.mu.Unlock()
		s.commitBatch(head, batch)
		b.commit.Unlock()
	}
}

// commitBatch gives every request of batch its lease and closes its done.
func (s *Store) commitBatch(pool *ipam.Pool, batch []*allocReq) {
	finish := func(r *allocReq, l ipam.Lease, err error) {
		r.l, r.err = l, err
		close(r.done)
	}
	// Whoever asked, the batch is written on its own clock (a caller that
	// gives up must not fail the others), within a budget of its own
	// (RequestTimeout, extended while the cluster has a leader). Within
	// it, a failure that says the cluster cannot answer right now (a
	// leader election, a member that went away, a slow commit) is
	// retried, so that losing one member does not fail a boot; the
	// compares make a retry of a transaction that did commit harmless.
	// The first attempt gets a quarter of the time, so that one sent to
	// a member that hangs (cut off, or stopping) leaves time for others
	// (the client spreads requests over every endpoint); each retry gets
	// twice as long as the one before, so that a cluster that is slow,
	// not gone, gets the time it needs (see attemptTimeout).
	b := s.newBudget(context.Background())
	fail := func(op string, err error) bool {
		if unavailable(err) {
			if b.retry(context.Background()) {
				return false
			}
			err = fmt.Errorf("%w (%s)", err, b)
		}
		if op != "" {
			err = s.wrap(op, err)
		}
		for _, r := range batch {
			finish(r, ipam.Lease{}, err)
		}
		return true
	}
	// reads is one read at one revision: the pool's address keys (keys
	// only: a big pool costs its key names, not its leases) and the
	// batch's machine keys.
	reads := func(batch []*allocReq) []clientv3.Op {
		ops := []clientv3.Op{clientv3.OpGet(s.poolPrefix(pool.Name)+"addr/", clientv3.WithPrefix(), clientv3.WithKeysOnly())}
		for _, r := range batch {
			ops = append(ops, clientv3.OpGet(s.macKey(pool.Name, r.mac)))
		}
		return ops
	}
	// state holds the reads' answer when a failed write brought it back.
	var state []*etcdserverpb.ResponseOp
	for attempt := 0; attempt < maxAttempts; {
		if s.closed.Load() {
			fail("", errClosed)
			return
		}
		if state == nil {
			ctx, cancel := b.attempt(context.Background(), s.attemptTimeout)
			resp, err := s.cli.Txn(ctx).Then(reads(batch)...).Commit()
			cancel()
			if err != nil {
				if fail("reading pool "+pool.Name, err) {
					return
				}
				continue
			}
			state = resp.Responses
		}
		taken := map[netip.Addr]bool{}
		held := map[string]ipam.Lease{}
		for i, rr := range state {
			for _, kv := range rr.GetResponseRange().Kvs {
				if i == 0 {
					if _, _, last, ok := s.leaseKey(string(kv.Key)); ok {
						if a, err := netip.ParseAddr(last); err == nil {
							taken[a] = true
						}
					}
				} else if l, err := decodeLease(string(kv.Key), kv.Value); err == nil {
					held[l.MAC] = l
				}
			}
		}
		// Machines that got a lease meanwhile (here or elsewhere) get it;
		// the others, each once, the lowest free addresses in order.
		now := time.Now().Unix()
		fresh := map[string]ipam.Lease{}
		var cmps []clientv3.Cmp
		var puts []clientv3.Op
		var pending []*allocReq
		a := pool.First()
		if !pool.Assignable(a) {
			a = pool.Next(a)
		}
		for _, r := range batch {
			if l, ok := held[r.mac]; ok {
				finish(r, l, nil)
				continue
			}
			if _, ok := fresh[r.mac]; ok {
				pending = append(pending, r)
				continue
			}
			for a.IsValid() && taken[a] {
				a = pool.Next(a)
			}
			if !a.IsValid() {
				finish(r, ipam.Lease{}, fmt.Errorf("%w: %q has no free address in %s-%s", ipam.ErrExhausted, pool.Name, pool.First(), pool.Last()))
				continue
			}
			l := ipam.Lease{Pool: pool.Name, Address: a, MAC: r.mac, Created: now}
			taken[a] = true
			fresh[r.mac] = l
			pending = append(pending, r)
			ak, mk, v := s.addrKey(pool.Name, a), s.macKey(pool.Name, r.mac), encodeLease(l)
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(ak), "=", 0), clientv3.Compare(clientv3.CreateRevision(mk), "=", 0))
			puts = append(puts, clientv3.OpPut(ak, v), clientv3.OpPut(mk, v))
		}
		if len(pending) == 0 {
			return
		}
		// When another writer took an address or a machine first, the
		// transaction's Else reads the pool again in the same round trip.
		state = nil
		batch = pending
		ctx, cancel := b.attempt(context.Background(), s.attemptTimeout)
		tresp, err := s.cli.Txn(ctx).If(cmps...).Then(puts...).Else(reads(batch)...).Commit()
		cancel()
		if err != nil {
			if fail("writing leases in pool "+pool.Name, err) {
				return
			}
			continue
		}
		if tresp.Succeeded {
			for _, r := range pending {
				finish(r, fresh[r.mac], nil)
			}
			return
		}
		attempt++ // another writer took an address or a machine: try again
		state = tresp.Responses
	}
	for _, r := range batch {
		finish(r, ipam.Lease{}, fmt.Errorf("%w: allocating in pool %s: other writers kept taking the same addresses (%d attempts)", storage.ErrUnavailable, pool.Name, maxAttempts))
	}
}

// Leases implements storage.Store.
func (s *Store) Leases(ctx context.Context) ([]ipam.Lease, error) {
	var resp *clientv3.GetResponse
	err := s.doLong(ctx, "reading leases", func(ctx context.Context) (err error) {
		resp, err = s.cli.Get(ctx, s.leasesPrefix(), clientv3.WithPrefix())
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []ipam.Lease
	for _, kv := range resp.Kvs {
		if _, kind, _, ok := s.leaseKey(string(kv.Key)); !ok || kind != "addr" {
			continue
		}
		l, err := decodeLease(string(kv.Key), kv.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// Release implements storage.Store: it deletes both keys of the lease
// under a compare that the address key is as read, retried like every
// write while the cluster elects a leader.
func (s *Store) Release(ctx context.Context, pool string, addr netip.Addr) (ipam.Lease, error) {
	ak := s.addrKey(pool, addr)
	for range maxAttempts {
		var resp *clientv3.GetResponse
		err := s.do(ctx, "reading lease "+pool+"/"+addr.String(), func(ctx context.Context) (err error) {
			resp, err = s.cli.Get(ctx, ak)
			return err
		})
		if err != nil {
			return ipam.Lease{}, err
		}
		if len(resp.Kvs) == 0 {
			return ipam.Lease{}, fmt.Errorf("lease %s/%s: %w", pool, addr, storage.ErrNotFound)
		}
		l, err := decodeLease(ak, resp.Kvs[0].Value)
		if err != nil {
			return ipam.Lease{}, err
		}
		// Repeated when the cluster could not answer (an election): when a
		// repeat finds the key gone, an earlier attempt did commit (or
		// another release of the same lease did), and the lease is
		// released as asked.
		tries := 0
		var tresp *clientv3.TxnResponse
		err = s.do(ctx, "releasing lease "+pool+"/"+addr.String(), func(ctx context.Context) (err error) {
			tries++
			tresp, err = s.cli.Txn(ctx).
				If(clientv3.Compare(clientv3.ModRevision(ak), "=", resp.Kvs[0].ModRevision)).
				Then(clientv3.OpDelete(ak), clientv3.OpDelete(s.macKey(pool, l.MAC))).
				Else(clientv3.OpGet(ak, clientv3.WithCountOnly())).
				Commit()
			return err
		})
		if err != nil {
			return ipam.Lease{}, err
		}
		if tresp.Succeeded || (tries > 1 && tresp.Responses[0].GetResponseRange().Count == 0) {
			return l, nil
		}
	}
	return ipam.Lease{}, fmt.Errorf("%w: releasing lease %s/%s: it kept changing (%d attempts)", storage.ErrUnavailable, pool, addr, maxAttempts)
}
