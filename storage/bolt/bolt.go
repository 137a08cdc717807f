package bolt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
	"github.com/provisiond/provisiond/storage"
)

// FileName is the database file inside the data directory.
const FileName = "provisiond.db"

const schemaVersion = "1"

var (
	bMeta      = []byte("meta")
	bCatalog   = []byte("catalog")
	bLeases    = []byte("leases")
	bInventory = []byte("inventory")
	bAddr      = []byte("addr")
	bMAC       = []byte("mac")
)

// Store is the bbolt backend. It is safe for concurrent use.
type Store struct {
	db   *bbolt.DB
	path string
}

var _ storage.Store = (*Store)(nil)

// Open opens (creating if needed) the database in dir. It fails fast,
// naming the file, when another process holds it. A missing file is a
// first start; an existing file that is empty, truncated or garbled, or
// whose leases disagree (checkLeases), is refused with ErrDamaged, never
// taken for a new install and never a crash.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	path := filepath.Join(dir, FileName)
	if err := preflight(path); err != nil {
		return nil, err
	}
	var db *bbolt.DB
	err := guard(path, func() error {
		var err error
		db, err = open(path, false)
		if err != nil {
			return err
		}
		err = db.Update(func(tx *bbolt.Tx) error {
			meta, err := tx.CreateBucketIfNotExists(bMeta)
			if err != nil {
				return err
			}
			if v := meta.Get([]byte("schema")); v != nil && string(v) != schemaVersion {
				return fmt.Errorf("schema version %s, this provisiond knows %s", v, schemaVersion)
			}
			if err := meta.Put([]byte("schema"), []byte(schemaVersion)); err != nil {
				return err
			}
			for _, b := range [][]byte{bCatalog, bLeases, bInventory} {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return verify(db, path, fileSize(path))
	})
	if err != nil {
		if db != nil {
			db.Close()
		}
		return nil, err
	}
	db.MaxBatchDelay = 2 * time.Millisecond
	return &Store{db: db, path: path}, nil
}

// ErrLocked is returned (wrapped, naming the file) when another process
// holds the database file: a running server.
var ErrLocked = errors.New("locked")

// open opens the bbolt file at path, read-only (shared lock) or not, and
// names the file in every error.
func open(path string, readOnly bool) (*bbolt.DB, error) {
	// A large initial mapping (address space, not memory) spares the
	// remaps, each of which copies every open node, while a big catalog
	// is written.
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 2 * time.Second, InitialMmapSize: 1 << 30, ReadOnly: readOnly})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%s: %w by another process (is another provisiond running with this --data-dir?)", path, ErrLocked)
	}
	if errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrChecksum) || errors.Is(err, bolterrors.ErrVersionMismatch) {
		return nil, damaged(path, fileSize(path), "%v", err)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return db, nil
}

// fileSize returns the size of the file at path, -1 when it cannot be read.
func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return st.Size()
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// fail wraps in storage.ErrUnavailable, naming the file, the errors that
// say the store cannot be used now rather than that the request is wrong:
// the store is closed (a request racing a shutdown), or the file cannot be
// written (disk full, quota, read-only file system, I/O error). Callers
// answer those 503 and log the cause; the write can succeed later, when
// space returns. Other errors (conflict, exhausted pool, not found) pass
// through unchanged.
func (s *Store) fail(err error) error {
	var errno syscall.Errno
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bolterrors.ErrDatabaseNotOpen):
		return fmt.Errorf("%w: %s: %w", storage.ErrUnavailable, s.path, err)
	case errors.As(err, &errno), errors.Is(err, bolterrors.ErrMaxSizeReached), errors.Is(err, bolterrors.ErrDatabaseReadOnly):
		return fmt.Errorf("%w: %s cannot be written: %w", storage.ErrUnavailable, s.path, err)
	}
	return err
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

var catalogKinds = []string{"profiles", "groups", "pools", "machines"}

// LoadCatalog implements storage.Store.
func (s *Store) LoadCatalog(ctx context.Context) (*catalog.Catalog, error) {
	c := catalog.New()
	err := guard(s.path, func() error {
		return s.db.View(func(tx *bbolt.Tx) error {
			root := tx.Bucket(bCatalog)
			load := func(name string, fn func(k, v []byte) error) error {
				b := root.Bucket([]byte(name))
				if b == nil {
					return nil
				}
				return b.ForEach(func(k, v []byte) error {
					if err := fn(k, v); err != nil {
						return damaged(s.path, fileSize(s.path), "stored %s/%s does not decode: %v", name, k, err)
					}
					return nil
				})
			}
			err := load("profiles", func(k, v []byte) error {
				p, err := profiles.Decode(v)
				if err == nil {
					c.Profiles[p.ID] = p
				}
				return err
			})
			if err == nil {
				err = load("groups", func(k, v []byte) error {
					g, err := groups.Decode(v)
					if err == nil {
						c.Groups[g.ID] = g
					}
					return err
				})
			}
			if err == nil {
				err = load("pools", func(k, v []byte) error {
					p, err := ipam.Decode(v)
					if err == nil {
						c.Pools[p.Name] = p
					}
					return err
				})
			}
			if err == nil {
				err = load("machines", func(k, v []byte) error {
					m, err := catalog.DecodeMachine(v)
					if err == nil {
						c.Machines[m.Name] = m
					}
					return err
				})
			}
			for _, kind := range profiles.Kinds {
				if err != nil {
					break
				}
				err = load("templates/"+string(kind), func(k, v []byte) error {
					c.Templates[kind][string(k)] = string(v)
					return nil
				})
			}
			return err
		})
	})
	if err != nil {
		return nil, s.fail(err)
	}
	return c, nil
}

// ReplaceCatalog implements storage.Store.
func (s *Store) ReplaceCatalog(ctx context.Context, c *catalog.Catalog, ops []storage.LeaseOp) error {
	// The same write as ReplaceCatalogAt's, without the revision compare:
	// only what changed is written (writeCatalogTx, revision.go).
	return s.fail(s.db.Update(func(tx *bbolt.Tx) error {
		_, err := writeCatalogTx(tx, c, ops)
		return err
	}))
}

// Machines implements storage.Store.
func (s *Store) Machines(ctx context.Context) ([]inventory.Machine, error) {
	return storage.CollectMachines(ctx, s.WalkMachines)
}

// WalkMachines implements storage.Store. fn runs inside the read
// transaction, one record at a time: at 100,000 machines the inventory
// is some 110 MB of mapped pages, resident only a chunk at a time
// (DecodeMachine copies what it keeps). A panic in fn is fn's, not a
// damaged file's: it is raised again once the transaction is closed.
func (s *Store) WalkMachines(ctx context.Context, fn func(inventory.Machine) error) error {
	var fnErr error
	var fnPanic any
	call := func(m inventory.Machine) (err error) {
		defer func() {
			if r := recover(); r != nil {
				fnPanic, err = r, errFnPanicked
			}
		}()
		if err := fn(m); err != nil {
			fnErr = err
			return err
		}
		return nil
	}
	err := guard(s.path, func() error {
		return s.db.View(func(tx *bbolt.Tx) error {
			walk := newResidentWalk(tx)
			return tx.Bucket(bInventory).ForEach(func(k, v []byte) error {
				m, err := inventory.DecodeMachine(v)
				if err != nil {
					return damaged(s.path, fileSize(s.path), "stored inventory/%s does not decode: %v", k, err)
				}
				walk.read(len(k) + len(v))
				return call(m)
			})
		})
	})
	switch {
	case fnPanic != nil:
		panic(fnPanic)
	case fnErr != nil:
		return fnErr
	}
	return s.fail(err)
}

// errFnPanicked ends a walk whose fn panicked (the panic is raised
// again outside the walk).
var errFnPanicked = errors.New("the walk's function panicked")

// SaveMachines implements storage.Store.
func (s *Store) SaveMachines(ctx context.Context, ms []inventory.Machine) error {
	if len(ms) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bInventory)
		for i := range ms {
			m := &ms[i]
			data, err := m.AppendJSON(nil) // json.Marshal's bytes, five times faster
			if err != nil {
				return err
			}
			if err := b.Put([]byte(m.Key), data); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		// The write mapped the pages of every key's path in the tree
		// (the commit copies the leaves it rewrites from them): the
		// flushes of a fleet that reboots go through the whole
		// inventory, 194 MiB of the process's resident memory at
		// 100,000 machines (docs/performance.md, "A booted fleet
		// reboots"). Let them go, in a read transaction: only it keeps
		// the mapping from moving under dropResident.
		s.db.View(func(tx *bbolt.Tx) error {
			dropResident(tx)
			return nil
		})
	}
	return s.fail(err)
}
