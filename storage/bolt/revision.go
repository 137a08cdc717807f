package bolt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/internal/keysort"
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
			dropResident(tx)
			return err
		})
	})
	if err != nil {
		return nil, 0, s.fail(err)
	}
	return c, rev, nil
}

// CatalogRevision returns the stored catalog's revision, as
// LoadCatalogRevision does, without decoding the catalog: a walk of the
// stored bytes. storage.Catalogs uses it to recognise the stored catalog
// as the one it serves.
func (s *Store) CatalogRevision(ctx context.Context) (storage.Revision, bool, error) {
	var rev storage.Revision
	err := guard(s.path, func() error {
		return s.db.View(func(tx *bbolt.Tx) (err error) {
			rev, err = catalogDigest(tx, nil)
			dropResident(tx)
			return err
		})
	})
	if err != nil {
		return 0, false, s.fail(err)
	}
	return rev, true, nil
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
		// The digest and the compare read every stored catalog page into
		// the mapping: let them go as the write goes on (dropResident).
		dropResident(tx)
		changed, err := writeCatalogTx(tx, c, ops)
		if err != nil {
			return err
		}
		dropResident(tx)
		if !changed {
			// The same catalog again (a restart with --catalog): the
			// digest is of the content, which did not change.
			written = now
			return nil
		}
		written, err = catalogDigest(tx, nil)
		return err
	})
	if err != nil {
		return 0, s.fail(err)
	}
	// The commit's reads and the digest of what was written: let
	// their pages go too.
	s.db.View(func(tx *bbolt.Tx) error {
		dropResident(tx)
		return nil
	})
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
	walk := newResidentWalk(tx)
	err := root.ForEachBucket(func(name []byte) error {
		field(name)
		return root.Bucket(name).ForEach(func(k, v []byte) error {
			field(k)
			field(v)
			if visit != nil {
				return visit(string(name), k, v)
			}
			walk.read(len(k) + len(v)) // nothing holds k or v
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
	var groupKeys, groupValues [][]byte
	rev, err := catalogDigest(tx, func(bucket string, k, v []byte) error {
		var err error
		switch bucket {
		case "profiles":
			var p *profiles.Profile
			if p, err = profiles.Decode(v); err == nil {
				c.Profiles[p.ID] = p
			}
		case "groups":
			// Decoded below, on GOMAXPROCS goroutines: 100,000 groups
			// are most of a stored catalog. v stays valid while tx is
			// open.
			groupKeys, groupValues = append(groupKeys, k), append(groupValues, v)
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
	decoded := make([]*groups.Group, len(groupValues))
	_, err = encodeAll(len(groupValues), func(i int, _ *[]byte) ([]byte, error) {
		g, err := groups.Decode(groupValues[i])
		if err != nil {
			return nil, fmt.Errorf("stored groups/%s: %w", groupKeys[i], err)
		}
		decoded[i] = g
		return nil, nil
	})
	if err != nil {
		return nil, 0, err
	}
	if len(c.Groups) == 0 {
		c.Groups = make(map[string]*groups.Group, len(decoded)) // one allocation, no rehash
	}
	for _, g := range decoded {
		c.Groups[g.ID] = g
	}
	return c, rev, nil
}

// writeCatalogTx replaces every catalog object with c's and applies the
// lease operations, inside tx: what ReplaceCatalog does in its own
// transaction. changed says whether any catalog key was written or
// deleted (the lease operations aside).
func writeCatalogTx(tx *bbolt.Tx, c *catalog.Catalog, ops []storage.LeaseOp) (changed bool, err error) {
	root := tx.Bucket(bCatalog)
	for _, name := range catalogKinds {
		var keys []string
		var encode encodeFunc
		switch name {
		case "profiles":
			keys = slices.Sorted(maps.Keys(c.Profiles))
			encode = func(i int, _ *[]byte) ([]byte, error) { return json.Marshal(c.Profiles[keys[i]]) }
		case "groups":
			// A million ids: a radix sort, carrying each id's group.
			var gs []*groups.Group
			keys, gs = keysort.Sorted(c.Groups)
			encode = func(i int, arena *[]byte) ([]byte, error) { return encodeGroupIn(arena, gs[i]) }
		case "pools":
			keys = slices.Sorted(maps.Keys(c.Pools))
			encode = func(i int, _ *[]byte) ([]byte, error) { return json.Marshal(c.Pools[keys[i]]) }
		case "machines":
			keys = slices.Sorted(maps.Keys(c.Machines))
			encode = func(i int, _ *[]byte) ([]byte, error) { return json.Marshal(c.Machines[keys[i]]) }
		}
		ch, err := syncBucket(root, name, keys, encode)
		if err != nil {
			return false, err
		}
		changed = changed || ch
	}
	for _, kind := range profiles.Kinds {
		t := c.Templates[kind]
		keys := slices.Sorted(maps.Keys(t))
		ch, err := syncBucket(root, "templates/"+string(kind), keys, func(i int, _ *[]byte) ([]byte, error) { return []byte(t[keys[i]]), nil })
		if err != nil {
			return false, err
		}
		changed = changed || ch
	}
	now := time.Now().Unix()
	// Pins are a set: first free every address a pinned machine is
	// leaving, so that two machines can swap pins, or one can take an
	// address another leaves, in the same catalog.
	for _, op := range ops {
		if op.Kind == storage.OpPin {
			if err := vacate(tx, op); err != nil {
				return false, err
			}
		}
	}
	for _, op := range ops {
		if err := applyOp(tx, op, now); err != nil {
			return false, err
		}
	}
	return changed, nil
}

// encodeBatch is how many values syncBucket encodes at a time: the values
// it compares with the stored ones are dropped a batch at a time, so that
// a reload of 100,000 unchanged groups does not hold all their encodings
// (40 MB) at once. Values it writes stay, as bbolt holds them until the
// commit.
const encodeBatch = 4096

// fillPercent is how full the catalog buckets' pages are written. The
// catalog is written in key order (syncBucket, freshBucket), which bbolt's
// default (half full) is not made for: full pages halve the file's
// catalog, the pages a write holds in memory until its commit, and the
// stored pages a read maps into the process (resident memory).
const fillPercent = 1.0

// encoder encodes keys[i]'s value in batches of encodeBatch, for i
// increasing.
type encoder struct {
	n      int
	encode encodeFunc
	lo     int
	batch  [][]byte
}

// encodeFunc returns the value of key i. It may append it to *arena (a
// buffer of its goroutine, which it may replace with a new one) and
// return that part of it: then many values share one allocation, which a
// value written keeps alive until the commit (see syncBucket).
type encodeFunc func(i int, arena *[]byte) ([]byte, error)

func (e *encoder) value(i int) ([]byte, error) {
	if i < e.lo || i >= e.lo+len(e.batch) {
		lo := i
		batch, err := encodeAll(min(encodeBatch, e.n-lo), func(j int, arena *[]byte) ([]byte, error) { return e.encode(lo+j, arena) })
		if err != nil {
			return nil, err
		}
		e.lo, e.batch = lo, batch
	}
	return e.batch[i-e.lo], nil
}

// syncBucket makes bucket name under root hold exactly keys (sorted) with
// the values encode gives, writing only what differs from what it holds:
// a key whose stored bytes are the same is not written again, a stored key
// that keys lacks is deleted. Reloading a catalog of 100,000 groups that
// did not change thus writes nothing but bbolt's meta page, and one that
// changed a few groups writes the few pages that hold them, instead of the
// whole bucket. The digest (catalogDigest) depends only on the bucket's
// content, not on how it was written. changed says whether it wrote or
// deleted any key.
func syncBucket(root *bbolt.Bucket, name string, keys []string, encode encodeFunc) (changed bool, err error) {
	b := root.Bucket([]byte(name))
	if b == nil {
		if b, err = root.CreateBucket([]byte(name)); err != nil {
			return false, err
		}
		return len(keys) > 0, fillBucket(b, keys, encode)
	}
	b.FillPercent = fillPercent
	enc := &encoder{n: len(keys), encode: encode}
	// One merge walk over the stored keys (in key order) and keys (sorted
	// the same way, by bytes), then the changes: a bucket is not changed
	// while a cursor walks it.
	type put struct {
		i int
		v []byte
	}
	var puts []put
	var dels [][]byte
	walk := newResidentWalk(b.Tx()) // k and v are not kept
	cur := b.Cursor()
	k, v := cur.First()
	for i := 0; i < len(keys) || k != nil; {
		walk.read(len(k) + len(v))
		switch {
		case k == nil || (i < len(keys) && keys[i] < string(k)):
			nv, err := enc.value(i) // new key
			if err != nil {
				return false, err
			}
			// A copy of its own: a value of an arena would keep the
			// whole arena alive to the commit, for one value written.
			puts = append(puts, put{i, slices.Clone(nv)})
			i++
		case i >= len(keys) || string(k) < keys[i]:
			if v == nil {
				// A nested bucket where a value belongs: not something
				// this code wrote. Start the bucket afresh.
				return true, freshBucket(root, name, keys, encode)
			}
			dels = append(dels, slices.Clone(k))
			k, v = cur.Next()
		default: // the same key
			if v == nil {
				return true, freshBucket(root, name, keys, encode)
			}
			nv, err := enc.value(i)
			if err != nil {
				return false, err
			}
			if !bytes.Equal(v, nv) {
				puts = append(puts, put{i, slices.Clone(nv)})
			}
			i++
			k, v = cur.Next()
		}
	}
	for _, k := range dels {
		if err := b.Delete(k); err != nil {
			return false, err
		}
	}
	// Keys go in in sorted order: bbolt splits nodes only at commit, so
	// random inserts into one huge node would each move half of it.
	for _, p := range puts {
		if err := b.Put([]byte(keys[p.i]), p.v); err != nil {
			return false, err
		}
	}
	return len(dels)+len(puts) > 0, nil
}

// freshBucket replaces bucket name with a new one holding keys and the
// values encode gives.
func freshBucket(root *bbolt.Bucket, name string, keys []string, encode encodeFunc) error {
	if root.Bucket([]byte(name)) != nil {
		if err := root.DeleteBucket([]byte(name)); err != nil {
			return err
		}
	}
	b, err := root.CreateBucket([]byte(name))
	if err != nil {
		return err
	}
	return fillBucket(b, keys, encode)
}

// fillBucket puts keys (sorted) with the values encode gives into the empty
// bucket b, packed full (fillPercent). Every value is written, so values
// sharing an arena keep nothing alive that is not written.
func fillBucket(b *bbolt.Bucket, keys []string, encode encodeFunc) error {
	b.FillPercent = fillPercent
	enc := &encoder{n: len(keys), encode: encode}
	for i, k := range keys {
		v, err := enc.value(i)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(k), v); err != nil {
			return err
		}
	}
	return nil
}

// encodeAll returns encode(0..n-1), on up to GOMAXPROCS goroutines for
// large n, each with its own arena; the first error (by index) is
// returned. readCatalogTx decodes with it too.
func encodeAll(n int, encode encodeFunc) ([][]byte, error) {
	out := make([][]byte, n)
	errs := make([]error, n)
	workers := min(runtime.GOMAXPROCS(0), n/256)
	if workers <= 1 {
		var arena []byte
		for i := range n {
			if out[i], errs[i] = encode(i, &arena); errs[i] != nil {
				return nil, errs[i]
			}
		}
		return out, nil
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var arena []byte
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				out[i], errs[i] = encode(i, &arena)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
