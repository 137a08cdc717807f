package etcd

import (
	"context"
	"encoding/json"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/provisiond/provisiond/inventory"
)

// inventoryChunk is the most records one SaveMachines transaction writes.
const inventoryChunk = 100

// SaveMachines implements storage.Store. The records (a batch the
// inventory recorder collected over its flush interval) are written in
// transactions of at most 100 puts, under etcd's limit on operations per
// transaction; each record is written whole.
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
		ops := make([]clientv3.Op, 0, n)
		for _, m := range ms[:n] {
			data, err := json.Marshal(m)
			if err != nil {
				return err
			}
			ops = append(ops, clientv3.OpPut(s.inventoryPrefix()+m.Key, string(data)))
		}
		ms = ms[n:]
		err := s.do(ctx, "writing the inventory", func(ctx context.Context) error {
			_, err := s.cli.Txn(ctx).Then(ops...).Commit()
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Machines implements storage.Store.
func (s *Store) Machines(ctx context.Context) ([]inventory.Machine, error) {
	var resp *clientv3.GetResponse
	err := s.doLong(ctx, "reading the inventory", func(ctx context.Context) (err error) {
		resp, err = s.cli.Get(ctx, s.inventoryPrefix(), clientv3.WithPrefix())
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]inventory.Machine, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var m inventory.Machine
		if err := json.Unmarshal(kv.Value, &m); err != nil {
			return nil, fmt.Errorf("stored %s: %w", kv.Key, err)
		}
		out = append(out, m)
	}
	return out, nil
}
