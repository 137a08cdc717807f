package etcd

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
	"github.com/provisiond/provisiond/storage"
)

// catalogDoc is the stored form of a whole catalog: each object in its
// JSON form, templates as bytes (base64 in JSON, so that templates that
// are not valid UTF-8 survive).
type catalogDoc struct {
	Version   int                          `json:"version"`
	Profiles  map[string]json.RawMessage   `json:"profiles"`
	Groups    map[string]json.RawMessage   `json:"groups"`
	Pools     map[string]json.RawMessage   `json:"pools"`
	Machines  map[string]json.RawMessage   `json:"machines"`
	Templates map[string]map[string][]byte `json:"templates"`
}

func encodeCatalog(c *catalog.Catalog) ([]byte, error) {
	doc := catalogDoc{Version: 1,
		Profiles: map[string]json.RawMessage{}, Groups: map[string]json.RawMessage{},
		Pools: map[string]json.RawMessage{}, Machines: map[string]json.RawMessage{},
		Templates: map[string]map[string][]byte{}}
	var err error
	put := func(m map[string]json.RawMessage, id string, v any) {
		if err != nil {
			return
		}
		var data []byte
		if data, err = json.Marshal(v); err == nil {
			m[id] = data
		}
	}
	for id, p := range c.Profiles {
		put(doc.Profiles, id, p)
	}
	for id, g := range c.Groups {
		put(doc.Groups, id, g)
	}
	for id, p := range c.Pools {
		put(doc.Pools, id, p)
	}
	for id, m := range c.Machines {
		put(doc.Machines, id, m)
	}
	if err != nil {
		return nil, err
	}
	for _, kind := range profiles.Kinds {
		ts := map[string][]byte{}
		for name, text := range c.Templates[kind] {
			ts[name] = []byte(text)
		}
		doc.Templates[string(kind)] = ts
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(doc); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeCatalog(data []byte) (*catalog.Catalog, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	var doc catalogDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	if doc.Version != 1 {
		return nil, fmt.Errorf("catalog document version %d, this provisiond knows 1", doc.Version)
	}
	c := catalog.New()
	for id, v := range doc.Profiles {
		p, err := profiles.Decode(v)
		if err != nil {
			return nil, fmt.Errorf("profiles/%s: %w", id, err)
		}
		c.Profiles[p.ID] = p
	}
	for id, v := range doc.Groups {
		g, err := groups.Decode(v)
		if err != nil {
			return nil, fmt.Errorf("groups/%s: %w", id, err)
		}
		c.Groups[g.ID] = g
	}
	for id, v := range doc.Pools {
		p, err := ipam.Decode(v)
		if err != nil {
			return nil, fmt.Errorf("pools/%s: %w", id, err)
		}
		c.Pools[p.Name] = p
	}
	for id, v := range doc.Machines {
		m, err := catalog.DecodeMachine(v)
		if err != nil {
			return nil, fmt.Errorf("machines/%s: %w", id, err)
		}
		c.Machines[m.Name] = m
	}
	for _, kind := range profiles.Kinds {
		for name, text := range doc.Templates[string(kind)] {
			c.Templates[kind][name] = string(text)
		}
	}
	return c, nil
}

// LoadCatalog implements storage.Store.
func (s *Store) LoadCatalog(ctx context.Context) (*catalog.Catalog, error) {
	c, _, err := s.LoadCatalogRevision(ctx)
	return c, err
}

// LoadCatalogRevision implements storage.Store: the revision is the
// catalog key's mod revision, 0 when no catalog was ever written.
func (s *Store) LoadCatalogRevision(ctx context.Context) (*catalog.Catalog, storage.Revision, error) {
	var resp *clientv3.GetResponse
	err := s.doLong(ctx, "reading the catalog", func(ctx context.Context) (err error) {
		resp, err = s.cli.Get(ctx, s.catalogKey())
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	if len(resp.Kvs) == 0 {
		return catalog.New(), 0, nil
	}
	c, err := decodeCatalog(resp.Kvs[0].Value)
	if err != nil {
		return nil, 0, fmt.Errorf("stored catalog %s: %w", s.catalogKey(), err)
	}
	return c, storage.Revision(resp.Kvs[0].ModRevision), nil
}

// maxAttempts bounds the optimistic retries of one write that lost races
// against other writers.
const maxAttempts = 20

// ReplaceCatalog implements storage.Store: ReplaceCatalogAt at whatever
// revision the catalog is, with no compare on it.
func (s *Store) ReplaceCatalog(ctx context.Context, c *catalog.Catalog, ops []storage.LeaseOp) error {
	_, err := s.replaceCatalog(ctx, c, ops, nil)
	return err
}

// ReplaceCatalogAt implements storage.Store. The catalog is one key, so it
// is written whole with its lease changes in one transaction, under a
// compare that the catalog key's mod revision is still rev, and compares
// on every lease key the changes touch: another replica's lease write in
// between makes it read the leases again and retry; another replica's
// catalog write makes it return storage.ErrStale. A change of more lease
// keys than one transaction may hold first writes the new automatic leases
// of registered machines in transactions of their own (see docs/etcd.md).
func (s *Store) ReplaceCatalogAt(ctx context.Context, rev storage.Revision, c *catalog.Catalog, ops []storage.LeaseOp) (storage.Revision, error) {
	return s.replaceCatalog(ctx, c, ops, &rev)
}

func (s *Store) replaceCatalog(ctx context.Context, c *catalog.Catalog, ops []storage.LeaseOp, at *storage.Revision) (storage.Revision, error) {
	value, err := encodeCatalog(c)
	if err != nil {
		return 0, fmt.Errorf("encoding the catalog: %w", err)
	}
	if limit := s.cfg.MaxRequestBytes - requestSlack; len(value) > limit {
		return 0, fmt.Errorf("the catalog is %d bytes compressed; one etcd request holds at most %d here (--max-request-bytes %d, less room for lease changes): raise --max-request-bytes on every member, or shrink the catalog",
			len(value), limit, s.cfg.MaxRequestBytes)
	}
	key := s.catalogKey()
	written := false // the stored catalog is this value, at *at
	for range maxAttempts {
		st, err := s.readLeases(ctx)
		if err != nil {
			return 0, err
		}
		p, err := plan(st, ops, time.Now().Unix())
		if err != nil {
			return 0, err
		}
		cmps, writes := s.txnOps(st, p)
		if len(writes)+1 > s.cfg.MaxTxnOps {
			fresh := p.fresh(st)
			if len(fresh) == 0 || len(writes)+1-2*len(fresh) > s.cfg.MaxTxnOps {
				return 0, fmt.Errorf("the catalog change writes %d lease keys in one transaction; etcd allows %d operations per transaction (--max-txn-ops): raise it on every member, or make the change in steps",
					len(writes), s.cfg.MaxTxnOps)
			}
			if err := s.preallocate(ctx, fresh); err != nil {
				return 0, err
			}
			continue // read again: those leases are now in place
		}
		if written && len(writes) == 0 {
			return *at, nil
		}
		if at != nil {
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", int64(*at)))
		}
		writes = append(writes, clientv3.OpPut(key, string(value)))
		// A repeat of a commit that went through fails its compares: the
		// catalog key then holds this very value, which is taken as the
		// base to plan again from (to no lease changes).
		var resp *clientv3.TxnResponse
		err = s.do(ctx, "writing the catalog", func(ctx context.Context) (err error) {
			resp, err = s.cli.Txn(ctx).If(cmps...).Then(writes...).Else(clientv3.OpGet(key)).Commit()
			return err
		})
		if err != nil {
			return 0, err
		}
		if resp.Succeeded {
			return storage.Revision(resp.Header.Revision), nil
		}
		if at == nil {
			continue
		}
		var now storage.Revision
		var stored []byte
		if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) == 1 {
			now, stored = storage.Revision(kvs[0].ModRevision), kvs[0].Value
		}
		switch {
		case now == *at:
			// A lease key changed: plan again.
		case stored != nil && bytes.Equal(stored, value):
			// This write itself, committed by an attempt whose answer was
			// lost (or the same catalog written by another replica).
			at, written = &now, true
		default:
			return 0, fmt.Errorf("%w: catalog revision %d, the change was computed from %d", storage.ErrStale, now, *at)
		}
	}
	return 0, fmt.Errorf("%w: writing the catalog: leases kept changing under it (%d attempts)", storage.ErrUnavailable, maxAttempts)
}

// preallocate writes leases that need neither their address nor their
// machine to be free of anything but what is already stored, a
// transaction per MaxTxnOps/2 leases, each under create-revision compares.
func (s *Store) preallocate(ctx context.Context, fresh []ipam.Lease) error {
	per := max(1, (s.cfg.MaxTxnOps)/2)
	for len(fresh) > 0 {
		n := min(per, len(fresh))
		var cmps []clientv3.Cmp
		var puts []clientv3.Op
		for _, l := range fresh[:n] {
			ak, mk := s.addrKey(l.Pool, l.Address), s.macKey(l.Pool, l.MAC)
			v := encodeLease(l)
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(ak), "=", 0), clientv3.Compare(clientv3.CreateRevision(mk), "=", 0))
			puts = append(puts, clientv3.OpPut(ak, v), clientv3.OpPut(mk, v))
		}
		fresh = fresh[n:]
		var resp *clientv3.TxnResponse
		err := s.do(ctx, "writing the leases of registered machines", func(ctx context.Context) (err error) {
			resp, err = s.cli.Txn(ctx).If(cmps...).Then(puts...).Commit()
			return err
		})
		if err != nil {
			return err
		}
		if !resp.Succeeded {
			return nil // someone else got there; the caller reads again
		}
	}
	return nil
}

// ErrCatalogCompacted is returned (wrapped) by LoadCatalogAt when etcd no
// longer keeps the revision asked for: its history before it was
// compacted.
var ErrCatalogCompacted = errors.New("etcd compacted that revision away")

// LoadCatalogAt returns the stored catalog as it was at rev, a revision
// LoadCatalogRevision returned earlier: etcd keeps every version of the
// catalog key until its history is compacted (then ErrCatalogCompacted).
// A catalog directory kept by a replica that was stopped is merged with
// the changes other replicas took meanwhile from there (docs/etcd.md).
func (s *Store) LoadCatalogAt(ctx context.Context, rev storage.Revision) (*catalog.Catalog, error) {
	var resp *clientv3.GetResponse
	err := s.doLong(ctx, fmt.Sprintf("reading the catalog at revision %d", rev), func(ctx context.Context) (err error) {
		resp, err = s.cli.Get(ctx, s.catalogKey(), clientv3.WithRev(int64(rev)))
		return err
	})
	switch {
	case errors.Is(err, rpctypes.ErrCompacted) || errors.Is(err, rpctypes.ErrGRPCCompacted):
		return nil, fmt.Errorf("%w (revision %d of %s): %v", ErrCatalogCompacted, rev, s.catalogKey(), err)
	case errors.Is(err, rpctypes.ErrFutureRev) || errors.Is(err, rpctypes.ErrGRPCFutureRev):
		return nil, fmt.Errorf("revision %d of %s is newer than the store (restored from an older backup?): %w", rev, s.catalogKey(), err)
	case err != nil:
		return nil, err
	}
	if len(resp.Kvs) == 0 || resp.Kvs[0].ModRevision != int64(rev) {
		return nil, fmt.Errorf("%s was not written at revision %d", s.catalogKey(), rev)
	}
	c, err := decodeCatalog(resp.Kvs[0].Value)
	if err != nil {
		return nil, fmt.Errorf("stored catalog %s at revision %d: %w", s.catalogKey(), rev, err)
	}
	return c, nil
}

// CatalogOrigin names the cluster and prefix this store's catalog
// revisions belong to ("etcd cluster 8e9e05c52164694d, prefix
// /provisiond/"): a revision means nothing in another.
func (s *Store) CatalogOrigin(ctx context.Context) (string, error) {
	var resp *clientv3.GetResponse
	err := s.do(ctx, "reading the cluster's id", func(ctx context.Context) (err error) {
		resp, err = s.cli.Get(ctx, s.catalogKey(), clientv3.WithCountOnly())
		return err
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("etcd cluster %016x, prefix %s", resp.Header.ClusterId, s.cfg.Prefix), nil
}
