package etcd

import (
	"context"
	"encoding/json"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/storage"
)

// inventoryChunk is the most records one SaveMachines transaction writes.
const inventoryChunk = 100

// SaveMachines implements storage.Store. The records (a batch the
// inventory recorder collected over its flush interval) are written in
// transactions of at most 100 records, under etcd's limit on operations
// per transaction. Each replica keeps its own records in memory, so a
// machine that boots from two replicas has a record in each: every record
// is merged with the stored one (mergeMachine: the events of both) and
// written under a compare that the stored one is still as read, read
// again and merged again when another replica wrote it meanwhile.
func (s *Store) SaveMachines(ctx context.Context, ms []inventory.Machine) error {
	if len(ms) == 0 {
		return nil
	}
	if s.closed.Load() {
		return errClosed
	}
	per := min(inventoryChunk, s.cfg.MaxTxnOps)
	for len(ms) > 0 {
		n := min(per, len(ms))
		if err := s.saveChunk(ctx, ms[:n]); err != nil {
			return err
		}
		ms = ms[n:]
	}
	return nil
}

// saveChunk merges and writes at most MaxTxnOps records in one
// transaction.
func (s *Store) saveChunk(ctx context.Context, ms []inventory.Machine) error {
	for range maxAttempts {
		reads := make([]clientv3.Op, len(ms))
		for i, m := range ms {
			reads[i] = clientv3.OpGet(s.inventoryPrefix() + m.Key)
		}
		var resp *clientv3.TxnResponse
		err := s.do(ctx, "reading the inventory", func(ctx context.Context) (err error) {
			resp, err = s.cli.Txn(ctx).Then(reads...).Commit()
			return err
		})
		if err != nil {
			return err
		}
		cmps := make([]clientv3.Cmp, 0, len(ms))
		puts := make([]clientv3.Op, 0, len(ms))
		for i, m := range ms {
			key := s.inventoryPrefix() + m.Key
			merged := m
			if kvs := resp.Responses[i].GetResponseRange().Kvs; len(kvs) == 1 {
				if stored, err := inventory.DecodeMachine(kvs[0].Value); err == nil {
					merged = mergeMachine(stored, m)
				} // an undecodable record is replaced by this one
				cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", kvs[0].ModRevision))
			} else {
				cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(key), "=", 0))
			}
			data, err := json.Marshal(merged)
			if err != nil {
				return err
			}
			puts = append(puts, clientv3.OpPut(key, string(data)))
		}
		// A repeat of a commit that went through fails its compares and
		// merges again: merging a record into itself changes nothing.
		var tresp *clientv3.TxnResponse
		err = s.do(ctx, "writing the inventory", func(ctx context.Context) (err error) {
			tresp, err = s.cli.Txn(ctx).If(cmps...).Then(puts...).Commit()
			return err
		})
		if err != nil {
			return err
		}
		if tresp.Succeeded {
			return nil
		}
	}
	return fmt.Errorf("%w: writing the inventory: other replicas kept writing the same records (%d attempts)", storage.ErrUnavailable, maxAttempts)
}

// Machines implements storage.Store.
func (s *Store) Machines(ctx context.Context) ([]inventory.Machine, error) {
	return storage.CollectMachines(ctx, s.WalkMachines)
}

// inventoryPage is how many records one read of WalkMachines asks for.
// At 0.4-3 KB a record (3 KB: a booted machine's 16 events), a page is
// at most a few MB: the walk holds one page, not the whole inventory.
const inventoryPage = 1000

// WalkMachines implements storage.Store. The records are read a page
// at a time (inventoryPage), every page at the revision of the first,
// so that the walk reads one consistent inventory as Machines does. If
// etcd compacts that revision away before the last page (its history
// is kept for minutes to hours, a walk takes seconds), the walk fails
// with etcd's "required revision has been compacted".
func (s *Store) WalkMachines(ctx context.Context, fn func(inventory.Machine) error) error {
	prefix := s.inventoryPrefix()
	end := clientv3.GetPrefixRangeEnd(prefix)
	from, rev := prefix, int64(0)
	for {
		var resp *clientv3.GetResponse
		err := s.doLong(ctx, "reading the inventory", func(ctx context.Context) (err error) {
			resp, err = s.cli.Get(ctx, from, clientv3.WithRange(end), clientv3.WithLimit(inventoryPage), clientv3.WithRev(rev))
			return err
		})
		if err != nil {
			return err
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			m, err := inventory.DecodeMachine(kv.Value)
			if err != nil {
				return fmt.Errorf("stored %s: %w", kv.Key, err)
			}
			if err := fn(m); err != nil {
				return err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}
