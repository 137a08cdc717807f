package bolt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// WriteBackup writes a consistent copy of the whole database to w: the
// state of one read transaction, so allocations and catalog writes go on
// while it is written and none is half in the copy. The copy is a
// database file that Open accepts as it is (docs/backup.md).
func (s *Store) WriteBackup(w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, s.fail(err)
}

// BackupHandler answers GET with a consistent copy of the database
// (WriteBackup), as application/octet-stream with its length and a file
// name, for the admin API to mount (GET /api/v1/backup). It does no
// authentication: mount it behind the admin API's. When the copy fails
// half-way the connection is cut, so a client never takes a short body
// for a whole backup (the length would not match).
func (s *Store) BackupHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, `{"error": "method not allowed: GET the backup"}`, http.StatusMethodNotAllowed)
			return
		}
		tx, err := s.db.Begin(false)
		if err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "{\"error\": %q}\n", s.fail(err).Error())
			return
		}
		defer tx.Rollback()
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Length", strconv.FormatInt(tx.Size(), 10))
		h.Set("Content-Disposition", `attachment; filename="provisiond-`+time.Now().UTC().Format("20060102T150405Z")+`.db"`)
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		if r.Method == http.MethodHead {
			return
		}
		if _, err := tx.WriteTo(w); err != nil {
			panic(http.ErrAbortHandler)
		}
	})
}

// Report is what Check found in a database file.
type Report struct {
	Path     string
	Size     int64
	Leases   int
	Pools    int
	Objects  int // catalog objects: profiles, groups, pools, machines, templates
	Machines int // inventory records
	// Problems lists every disagreement found; empty when the file is
	// sound.
	Problems []string
}

// maxProblems bounds a report: past it, the file is beyond repair anyway.
const maxProblems = 100

// Check checks the database of a data directory without changing it:
// every lease (checkLeases), every catalog object and every inventory
// record, then, when those are sound, bbolt's own consistency check of
// every page. It opens
// the file read-only, so it works on a copy or on the data directory of a
// stopped server; a running server holds the file locked (use the admin
// API's backup, then check the copy). The error is for a file that cannot
// be checked at all (missing, locked, unreadable); a file that can be read
// but is damaged gives a Report with Problems.
func Check(dir string) (*Report, error) {
	return CheckFile(filepath.Join(dir, FileName))
}

// CheckFile is Check for a database file at any path, such as a backup.
func CheckFile(path string) (*Report, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no database here (provisiond creates it at its first start)", path)
	}
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: a directory, not a database file (for a data directory, give --data-dir)", path)
	}
	rep := &Report{Path: path, Size: st.Size()}
	if err := preflight(path); err != nil {
		rep.Problems = append(rep.Problems, problemOf(path, err))
		return rep, nil
	}
	var db *bbolt.DB
	err = guard(path, func() error {
		var err error
		if db, err = open(path, true); err != nil {
			return err
		}
		s := &Store{db: db, path: path}
		problem := func(p string) bool {
			rep.Problems = append(rep.Problems, p)
			return len(rep.Problems) < maxProblems
		}
		// First the reads this goroutine makes, where guard catches a
		// fault on a wild page reference; bbolt's own check runs in a
		// goroutine of its own, where a fault would kill the process, so
		// it runs only over a tree that these reads walked whole.
		err = db.View(func(tx *bbolt.Tx) error {
			n, err := checkLeases(tx, problem)
			rep.Leases, rep.Pools = n.Leases, n.Pools
			return err
		})
		if err != nil {
			return err
		}
		c, err := s.LoadCatalog(context.Background())
		if err != nil {
			problem(err.Error())
		} else {
			rep.Objects = len(c.Profiles) + len(c.Groups) + len(c.Pools) + len(c.Machines)
			for _, ts := range c.Templates {
				rep.Objects += len(ts)
			}
		}
		ms, err := s.Machines(context.Background())
		if err != nil {
			problem(err.Error())
		}
		rep.Machines = len(ms)
		if len(rep.Problems) > 0 {
			return nil // damaged already; bbolt's check could meet a wild page
		}
		return db.View(func(tx *bbolt.Tx) error {
			// Drain the channel whole: the check's goroutine reads the
			// transaction until it closes it.
			for err := range tx.Check() {
				if len(rep.Problems) < maxProblems {
					problem("bbolt: " + err.Error())
				}
			}
			return nil
		})
	})
	if db != nil {
		db.Close()
	}
	if errors.Is(err, ErrDamaged) {
		rep.Problems = append(rep.Problems, problemOf(path, err))
		return rep, nil
	}
	return rep, err
}

// problemOf is err as a line of a Report about path: what is wrong, without
// the file's name (the report names it) nor the remedy that a refused
// start gives (which points to db check, the reader of the report).
func problemOf(path string, err error) string {
	var de *damageError
	if errors.As(err, &de) && de.path == path {
		return fmt.Sprintf("damaged (%d bytes): %s", de.size, de.reason)
	}
	return strings.TrimPrefix(err.Error(), path+": ")
}

// Backup writes a consistent copy of the database of a stopped server's
// data directory to w. It refuses a damaged file (Check says what is
// wrong): a backup must be one that can be restored. While a server runs
// the file is locked: back it up through the admin API (BackupHandler).
func Backup(dir string, w io.Writer) (int64, error) {
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	if err := preflight(path); err != nil {
		return 0, err
	}
	var n int64
	var db *bbolt.DB
	err := guard(path, func() error {
		var err error
		if db, err = open(path, true); err != nil {
			return err
		}
		if err := verify(db, path, fileSize(path)); err != nil {
			return err
		}
		s := &Store{db: db, path: path}
		n, err = s.WriteBackup(w)
		return err
	})
	if db != nil {
		db.Close()
	}
	return n, err
}
