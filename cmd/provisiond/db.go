package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
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
  provisiond db backup --data-dir DIR -f FILE
                                           back up a stopped server's database
  provisiond db backup [--server URL] -f FILE
                                           back up a running server's database through its admin API

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
		return fmt.Errorf("%s: damaged (%s): restore a backup; docs/backup.md says what to do", rep.Path, plural(len(rep.Problems), "problem"))
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
	file := fs.String("f", "", "backup `file` to write (written whole, then renamed into place)")
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
	n, err := writeFileAtomic(*file, write)
	if err != nil {
		return err
	}
	// A backup is only one if it can be restored: check the copy.
	rep, err := bolt.CheckFile(*file)
	if err != nil {
		return fmt.Errorf("checking the backup %s: %w", *file, err)
	}
	if len(rep.Problems) > 0 {
		return fmt.Errorf("the backup %s does not check (%s); it was kept for inspection", *file, strings.Join(rep.Problems, "; "))
	}
	fmt.Fprintf(stdout, "%s: %d bytes from %s, %d leases in %d pools, %d catalog objects: checked ok\n",
		*file, n, from, rep.Leases, rep.Pools, rep.Objects)
	return nil
}

// writeFileAtomic writes path through write into a temporary file beside
// it, syncs it and renames it into place, so that path is never a partial
// backup.
func writeFileAtomic(path string, write func(io.Writer) (int64, error)) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, fmt.Errorf("-f: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, there is nothing left to remove
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
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return n, err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return n, nil
}
