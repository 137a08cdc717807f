package bolt

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
	"github.com/provisiond/provisiond/storage"
)

// A bbolt file has one writer, this process, so the compare-and-swap of
// ReplaceCatalogAt is a check inside the write transaction. The revision
// is a digest of the stored catalog (every key and value under the catalog
// bucket), so it holds whichever method wrote the catalog, and it needs no
// counter in the file.

// LoadCatalogRevision implements storage.Store.
func (s *Store) LoadCatalogRevision(ctx context.Context) (*catalog.Catalog, storage.Revision, error) {
	var c *catalog.Catalog
	var rev storage.Revision
	err := guard(s.path, func() error {
		return s.db.View(func(tx *bbolt.Tx) (err error) {
			c, rev, err = readCatalogTx(tx)
			return err
		})
	})
	if err != nil {
		return nil, 0, s.fail(err)
	}
	return c, rev, nil
}

// ReplaceCatalogAt implements storage.Store.
func (s *Store) ReplaceCatalogAt(ctx context.Context, rev storage.Revision, c *catalog.Catalog, ops []storage.LeaseOp) (storage.Revision, error) {
	var written storage.Revision
	err := s.db.Update(func(tx *bbolt.Tx) error {
		now, err := catalogDigest(tx, nil)
		if err != nil {
			return err
		}
		if now != rev {
			return fmt.Errorf("%w: catalog revision %016x, the change was computed from %016x", storage.ErrStale, uint64(now), uint64(rev))
		}
		if err := writeCatalogTx(tx, c, ops); err != nil {
			return err
		}
		written, err = catalogDigest(tx, nil)
		return err
	})
	if err != nil {
		return 0, s.fail(err)
	}
	return written, nil
}

// catalogDigest walks every bucket under the catalog bucket, in key order,
// calls visit (when not nil) with each bucket's name, key and value, and
// returns the digest of all of them.
func catalogDigest(tx *bbolt.Tx, visit func(bucket string, k, v []byte) error) (storage.Revision, error) {
	h := sha256.New()
	var n [8]byte
	field := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	root := tx.Bucket(bCatalog)
	err := root.ForEachBucket(func(name []byte) error {
		field(name)
		return root.Bucket(name).ForEach(func(k, v []byte) error {
			field(k)
			field(v)
			if visit != nil {
				return visit(string(name), k, v)
			}
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	return storage.Revision(binary.BigEndian.Uint64(h.Sum(nil)[:8])), nil
}

// readCatalogTx decodes the stored catalog and its digest in one walk.
func readCatalogTx(tx *bbolt.Tx) (*catalog.Catalog, storage.Revision, error) {
	c := catalog.New()
	rev, err := catalogDigest(tx, func(bucket string, k, v []byte) error {
		var err error
		switch bucket {
		case "profiles":
			var p *profiles.Profile
			if p, err = profiles.Decode(v); err == nil {
				c.Profiles[p.ID] = p
			}
		case "groups":
			var g *groups.Group
			if g, err = groups.Decode(v); err == nil {
				c.Groups[g.ID] = g
			}
		case "pools":
			var p *ipam.Pool
			if p, err = ipam.Decode(v); err == nil {
				c.Pools[p.Name] = p
			}
		case "machines":
			var m *catalog.Machine
			if m, err = catalog.DecodeMachine(v); err == nil {
				c.Machines[m.Name] = m
			}
		default:
			if kind, ok := strings.CutPrefix(bucket, "templates/"); ok && c.Templates[profiles.Kind(kind)] != nil {
				c.Templates[profiles.Kind(kind)][string(k)] = string(v)
			}
		}
		if err != nil {
			return fmt.Errorf("stored %s/%s: %w", bucket, k, err)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return c, rev, nil
}

// writeCatalogTx replaces every catalog object with c's and applies the
// lease operations, inside tx: what ReplaceCatalog does in its own
// transaction.
func writeCatalogTx(tx *bbolt.Tx, c *catalog.Catalog, ops []storage.LeaseOp) error {
	root := tx.Bucket(bCatalog)
	fresh := func(name string) (*bbolt.Bucket, error) {
		if root.Bucket([]byte(name)) != nil {
			if err := root.DeleteBucket([]byte(name)); err != nil {
				return nil, err
			}
		}
		return root.CreateBucket([]byte(name))
	}
	putJSON := func(b *bbolt.Bucket, key string, v any) error {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), data)
	}
	for _, name := range catalogKinds {
		b, err := fresh(name)
		if err != nil {
			return err
		}
		// Keys go in in sorted order: bbolt splits nodes only at commit,
		// so random inserts into a fresh bucket of 100,000 keys would
		// each move half of one huge node.
		switch name {
		case "profiles":
			for _, id := range slices.Sorted(maps.Keys(c.Profiles)) {
				err = errors.Join(err, putJSON(b, id, c.Profiles[id]))
			}
		case "groups":
			for _, id := range slices.Sorted(maps.Keys(c.Groups)) {
				err = errors.Join(err, putJSON(b, id, c.Groups[id]))
			}
		case "pools":
			for _, id := range slices.Sorted(maps.Keys(c.Pools)) {
				err = errors.Join(err, putJSON(b, id, c.Pools[id]))
			}
		case "machines":
			for _, id := range slices.Sorted(maps.Keys(c.Machines)) {
				err = errors.Join(err, putJSON(b, id, c.Machines[id]))
			}
		}
		if err != nil {
			return err
		}
	}
	for _, kind := range profiles.Kinds {
		b, err := fresh("templates/" + string(kind))
		if err != nil {
			return err
		}
		for _, name := range slices.Sorted(maps.Keys(c.Templates[kind])) {
			if err := b.Put([]byte(name), []byte(c.Templates[kind][name])); err != nil {
				return err
			}
		}
	}
	now := time.Now().Unix()
	// Pins are a set: first free every address a pinned machine is
	// leaving, so that two machines can swap pins, or one can take an
	// address another leaves, in the same catalog.
	for _, op := range ops {
		if op.Kind == storage.OpPin {
			if err := vacate(tx, op); err != nil {
				return err
			}
		}
	}
	for _, op := range ops {
		if err := applyOp(tx, op, now); err != nil {
			return err
		}
	}
	return nil
}
