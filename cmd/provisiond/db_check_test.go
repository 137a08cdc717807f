package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/storage/bolt"
)

// db check on a damaged file: each problem line names the file once (as
// its prefix) and says what is wrong; none of them tells the reader to
// run db check, which they are reading. The last line says what to do:
// restore a backup, with the verb that checks it.
func TestDBCheckDamagedMessage(t *testing.T) {
	src, _ := dbDir(t, 30)
	good, err := os.ReadFile(filepath.Join(src, bolt.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "the file is empty"},
		{"garbled", bytes.Repeat([]byte{0x5a}, 20000), "header (meta) pages"},
		{"truncated", good[:3*4096], "the file is truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, bolt.FileName)
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"check", "--data-dir", dir}, {"check", "-f", path}} {
				code, out, errs := runDB(t, args...)
				lines := strings.Split(strings.TrimSpace(out), "\n")
				if code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], path+": damaged (") || !strings.Contains(lines[0], tc.want) ||
					strings.Count(lines[0], path) != 1 || strings.Contains(lines[0], "db check") {
					t.Errorf("db %v: exit %d, stdout %q; want 1 and one line naming %s once, saying %q, and not pointing to db check", args, code, out, path, tc.want)
				}
				if strings.Count(errs, "\n") != 1 || strings.Count(errs, path) != 1 || !strings.Contains(errs, "db check -f") || !strings.Contains(errs, "docs/backup.md#restore") {
					t.Errorf("db %v: stderr %q; want one line naming the file once and how to restore a backup", args, errs)
				}
				if args[1] == "--data-dir" && !strings.Contains(errs, "restore a backup") {
					t.Errorf("db %v: stderr %q; want it to say to restore a backup", args, errs)
				}
			}
		})
	}
}
