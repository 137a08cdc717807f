package etcd

import (
	"context"
	"errors"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/provisiond/provisiond/storage"
)

var _ storage.Watcher = (*Store)(nil)

// Watch implements storage.Watcher: it watches the whole prefix from the
// revision after the one it read when it (re)started, with WithRequireLeader
// so that a member that lost its quorum ends the watch instead of going
// quiet. When the watch ends (no leader, history compacted, the member
// gone) it reads the current revision again, retrying with backoff until
// the cluster answers, reports a Reset and watches on.
func (s *Store) Watch(ctx context.Context, fn func(storage.Change)) error {
	const maxBackoff = 2 * time.Second
	backoff := 100 * time.Millisecond
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.closed.Load() {
			return errClosed
		}
		var resp *clientv3.GetResponse
		err := s.do(ctx, "reading the revision", func(ctx context.Context) (err error) {
			resp, err = s.cli.Get(ctx, s.catalogKey(), clientv3.WithCountOnly())
			return err
		})
		if errors.Is(err, errClosed) {
			return err
		}
		if err != nil {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = 100 * time.Millisecond
		fn(storage.Change{Reset: true})
		s.follow(ctx, resp.Header.Revision+1, fn)
	}
}

// follow reports the changes from revision rev on until the watch ends.
func (s *Store) follow(ctx context.Context, rev int64, fn func(storage.Change)) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := s.cli.Watch(wctx, s.cfg.Prefix, clientv3.WithPrefix(), clientv3.WithRev(rev), clientv3.WithPrevKV())
	for wr := range wch {
		if wr.Err() != nil || wr.Canceled {
			return
		}
		for _, ev := range wr.Events {
			s.report(ev, fn)
		}
	}
}

// report turns one event into changes: the catalog key, or an address key
// of a lease (the machine keys mirror them). Overwriting an address with
// another machine's lease reports the old lease deleted first.
func (s *Store) report(ev *clientv3.Event, fn func(storage.Change)) {
	key := string(ev.Kv.Key)
	if key == s.catalogKey() {
		fn(storage.Change{Catalog: true})
		return
	}
	if _, kind, _, ok := s.leaseKey(key); !ok || kind != "addr" {
		return
	}
	var prev *mvccpb.KeyValue = ev.PrevKv
	if ev.Type == mvccpb.DELETE {
		if prev == nil {
			fn(storage.Change{Catalog: true}) // cannot tell whose: reload
			return
		}
		if l, err := decodeLease(key, prev.Value); err == nil {
			fn(storage.Change{Lease: &l, Deleted: true})
		}
		return
	}
	l, err := decodeLease(key, ev.Kv.Value)
	if err != nil {
		return
	}
	if prev != nil {
		if old, err := decodeLease(key, prev.Value); err == nil && old.MAC != l.MAC {
			fn(storage.Change{Lease: &old, Deleted: true})
		}
	}
	fn(storage.Change{Lease: &l})
}
