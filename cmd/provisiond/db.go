package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/provisiond/provisiond/storage/bolt"
)

// BackupPath is the admin API route that streams a consistent copy of a
// running server's bbolt database (bolt.Store.BackupHandler).
const BackupPath = "/api/v1/backup"

const dbUsage = `Usage:
  provisiond db check --data-dir DIR       check a stopped server's database (bbolt pages, leases, catalog)
  provisiond db check -f FILE              check a backup file
  provisiond db backup --data-dir DIR -f FILE [--force]
                                           back up a stopped server's database
  provisiond db backup [--server URL] -f FILE [--force]
                                           back up a running server's database through its admin API

db backup refuses an existing FILE unless --force; FILE is replaced only by a
copy written whole and checked.

A backup is a bbolt file: restore it by copying it to DIR/` + bolt.FileName + ` while
the server is stopped. docs/backup.md says more.
`

// cmdDB runs `provisiond db check|backup`.
func cmdDB(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		w := stderr
		if len(args) > 0 {
			w = stdout
		}
		fmt.Fprint(w, dbUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	switch args[0] {
	case "check":
		return runClient("db check", stderr, func() error { return dbCheck(args[1:], stdout, stderr) })
	case "backup":
		return runClient("db backup", stderr, func() error { return dbBackup(args[1:], stdout, stderr) })
	}
	fmt.Fprintf(stderr, "provisiond db: unknown command %q\n\n%s", args[0], dbUsage)
	return 2
}

func dbCheck(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("db check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data-dir", "", "the server's data `directory` (holding "+bolt.FileName+"); the server must be stopped")
	file := fs.String("f", "", "a database `file` to check, such as a backup")
	if _, err := parseClient(fs, args); err != nil {
		return err
	}
	var path string
	switch {
	case (*dir == "") == (*file == ""):
		return usagef("give --data-dir DIR or -f FILE")
	case *dir != "":
		path = filepath.Join(*dir, bolt.FileName)
	default:
		path = *file
	}
	rep, err := bolt.CheckFile(path)
	if err != nil {
		if errors.Is(err, bolt.ErrLocked) {
			return fmt.Errorf("%w\n(a running server holds the file: check a backup instead, `provisiond db backup -f FILE` then `provisiond db check -f FILE`)", err)
		}
		return err
	}
	if len(rep.Problems) > 0 {
		for _, p := range rep.Problems {
			fmt.Fprintf(stdout, "%s: %s\n", rep.Path, p)
		}
		if *dir != "" {
			return fmt.Errorf("%s: damaged (%s): restore a backup: with provisiond stopped, move this file aside and put in its place a backup that `provisiond db check -f BACKUP` passes (docs/backup.md#restore)", rep.Path, plural(len(rep.Problems), "problem"))
		}
		return fmt.Errorf("%s: damaged (%s): not a backup that can be restored; restore an older one that `provisiond db check -f` passes (docs/backup.md#restore)", rep.Path, plural(len(rep.Problems), "problem"))
	}
	fmt.Fprintf(stdout, "%s: ok: %d bytes, %d leases in %d pools, %d catalog objects, %d inventory records\n",
		rep.Path, rep.Size, rep.Leases, rep.Pools, rep.Objects, rep.Machines)
	return nil
}

func dbBackup(args []string, stdout, stderr io.Writer) error {
	var cfg clientConfig
	fs := clientFlags("db backup", &cfg, false)
	fs.SetOutput(stderr)
	dir := fs.String("data-dir", "", "back up a stopped server's data `directory` instead of asking --server")
	file := fs.String("f", "", "backup `file` to write (written whole, checked, then renamed into place); it must not exist yet")
	force := fs.Bool("force", false, "replace -f FILE when it exists")
	if _, err := parseClient(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return usagef("-f FILE is required")
	}
	serverGiven := false
	fs.Visit(func(f *flag.Flag) { serverGiven = serverGiven || f.Name == "server" })
	if *dir != "" && serverGiven {
		return usagef("give --data-dir DIR (a stopped server) or --server URL (a running one), not both")
	}
	write := func(w io.Writer) (int64, error) {
		n, err := bolt.Backup(*dir, w)
		if errors.Is(err, bolt.ErrLocked) {
			err = fmt.Errorf("%w\n(the server is running: back it up with --server URL instead)", err)
		}
		return n, err
	}
	from := filepath.Join(*dir, bolt.FileName)
	if *dir == "" {
		c, err := newClient(cfg)
		if err != nil {
			return usagef("%v", err)
		}
		from = c.URL(BackupPath)
		write = func(w io.Writer) (int64, error) { return c.Download(BackupPath, w) }
	}
	if !*force {
		// Refused before the copy is made, and again when it is put in
		// place (writeFileAtomic), in case FILE appeared meanwhile.
		if _, err := os.Lstat(*file); err == nil {
			return existsError(*file)
		}
	}
	// A backup is only one if it can be restored: the copy is checked
	// before it takes -f's name.
	var rep *bolt.Report
	check := func(tmp string) error {
		var err error
		if rep, err = bolt.CheckFile(tmp); err != nil {
			return fmt.Errorf("checking the backup: %w", err)
		}
		if len(rep.Problems) > 0 {
			return fmt.Errorf("the backup does not check (%s)", strings.Join(rep.Problems, "; "))
		}
		return nil
	}
	n, err := writeFileAtomic(*file, *force, write, check)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d bytes from %s, %d leases in %d pools, %d catalog objects: checked ok\n",
		*file, n, from, rep.Leases, rep.Pools, rep.Objects)
	return nil
}

// existsError is the refusal to replace an existing backup file.
func existsError(path string) error {
	return fmt.Errorf("-f %s: the file exists; remove it or pass --force to replace it", path)
}

// writeFileAtomic writes path through write into a temporary file beside
// it, syncs it, has check approve it, and only then gives it path's name
// and syncs the directory, so that path is never a partial or unchecked
// backup: when anything fails, path is as it was. Without force an
// existing path is refused (os.Link does not replace a file); with it,
// path is replaced in one rename. A copy that check refuses is kept
// under its temporary name for inspection, and the error says where.
func writeFileAtomic(path string, force bool, write func(io.Writer) (int64, error), check func(tmp string) error) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, fmt.Errorf("-f: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			os.Remove(tmp.Name()) // after a successful rename, there is nothing left to remove
		}
	}()
	n, err := write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err != nil {
		return n, err
	}
	if err := check(tmp.Name()); err != nil {
		keep = true
		return n, fmt.Errorf("%w; %s was left as it was, and the copy was kept for inspection as %s", err, path, tmp.Name())
	}
	if err := place(tmp.Name(), path, force); err != nil {
		return n, err
	}
	d, err := os.Open(filepath.Dir(path))
	if err == nil {
		err = d.Sync()
		d.Close()
	}
	if err != nil {
		return n, fmt.Errorf("%s was written, but syncing its directory failed (a crash now could lose it): %w", path, err)
	}
	return n, nil
}

// place gives the file tmp the name path: with force by a rename, which
// replaces path; without it by a hard link, which refuses an existing
// path even one created a moment ago. On a file system without hard links
// it checks that path does not exist, then renames.
func place(tmp, path string, force bool) error {
	if force {
		return os.Rename(tmp, path)
	}
	err := os.Link(tmp, path)
	if err == nil {
		return os.Remove(tmp)
	}
	if errors.Is(err, fs.ErrExist) {
		return existsError(path)
	}
	if _, err := os.Lstat(path); err == nil {
		return existsError(path)
	}
	return os.Rename(tmp, path)
}
