package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/storage/bolt"
)

// dbDir returns a stopped server's data dir holding n leases, and them.
func dbDir(t *testing.T, n int) (string, []ipam.Lease) {
	t.Helper()
	dir := t.TempDir()
	s, err := bolt.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := &ipam.Pool{Name: "rack1", CIDR: "10.9.0.0/22", Start: "10.9.0.10", End: "10.9.3.250"}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := s.Allocate(t.Context(), p, fmt.Sprintf("02:dd:00:00:%02x:%02x", i>>8, i&0xff)); err != nil {
			t.Fatal(err)
		}
	}
	leases, err := s.Leases(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return dir, leases
}

// leasesOf opens a backup file as a restored data dir and returns its
// leases.
func leasesOf(t *testing.T, file string) []ipam.Lease {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, bolt.FileName), data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := bolt.Open(dir)
	if err != nil {
		t.Fatalf("the backup does not open: %v", err)
	}
	defer s.Close()
	leases, err := s.Leases(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return leases
}

func sameLeaseSet(a, b []ipam.Lease) bool {
	if len(a) != len(b) {
		return false
	}
	in := map[ipam.Lease]bool{}
	for _, l := range a {
		in[l] = true
	}
	for _, l := range b {
		if !in[l] {
			return false
		}
	}
	return true
}

func runDB(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"db"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestDBOffline(t *testing.T) {
	dir, leases := dbDir(t, 300)
	code, out, errs := runDB(t, "check", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "ok:") || !strings.Contains(out, "300 leases in 1 pools") {
		t.Fatalf("db check: %d\n%s%s", code, out, errs)
	}
	file := filepath.Join(t.TempDir(), "backup.db")
	code, out, errs = runDB(t, "backup", "--data-dir", dir, "-f", file)
	if code != 0 || !strings.Contains(out, "checked ok") {
		t.Fatalf("db backup: %d\n%s%s", code, out, errs)
	}
	if got := leasesOf(t, file); !sameLeaseSet(got, leases) {
		t.Errorf("backup holds %d leases, want the %d stored", len(got), len(leases))
	}
	if code, out, errs = runDB(t, "check", "-f", file); code != 0 {
		t.Errorf("db check -f backup: %d\n%s%s", code, out, errs)
	}

	// A damaged copy: two machines' index entries swapped.
	bad := t.TempDir()
	data, _ := os.ReadFile(filepath.Join(dir, bolt.FileName))
	os.WriteFile(filepath.Join(bad, bolt.FileName), data, 0o600)
	db, err := bbolt.Open(filepath.Join(bad, bolt.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := leases[10], leases[11]
	err = db.Update(func(tx *bbolt.Tx) error {
		m := tx.Bucket([]byte("leases")).Bucket([]byte("rack1")).Bucket([]byte("mac"))
		ka, kb := a.Address.As16(), b.Address.As16()
		if err := m.Put([]byte(a.MAC), kb[:]); err != nil {
			return err
		}
		return m.Put([]byte(b.MAC), ka[:])
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs = runDB(t, "check", "--data-dir", bad)
	if code != 1 || !strings.Contains(out, a.MAC) || !strings.Contains(out, b.MAC) || !strings.Contains(errs, "restore a backup") {
		t.Errorf("db check of a damaged store: %d\n%s%s", code, out, errs)
	}
	if code, _, errs = runDB(t, "backup", "--data-dir", bad, "-f", filepath.Join(t.TempDir(), "b.db")); code != 1 || !strings.Contains(errs, a.MAC) {
		t.Errorf("db backup of a damaged store: %d %s", code, errs)
	}

	for _, args := range [][]string{{"check"}, {"check", "--data-dir", dir, "-f", file}, {"backup", "--data-dir", dir}, {"backup", "--data-dir", dir, "--server", "http://127.0.0.1:1", "-f", file}, {"frobnicate"}} {
		if code, _, errs := runDB(t, args...); code != 2 {
			t.Errorf("db %v: exit %d, want 2 (usage)\n%s", args, code, errs)
		}
	}
}

// db backup --server streams GET /api/v1/backup of a running
// provisiond serve, behind the admin API's authentication: the copy opens
// as a store and holds every lease the server answered, while the server
// keeps serving.
func TestDBBackupServer(t *testing.T) {
	data := t.TempDir()
	const token = "db-backup-token-0123456789abcdef"
	tokens := writeFile(t, filepath.Join(t.TempDir(), "tokens"), token+"\n")
	p := start(t, nil, "--data-dir", data, "--catalog", guardCatalog(t), "--admin-token-file", tokens)
	answered := map[string]string{} // mac -> address the boot answered
	for i := range 15 {
		mac := fmt.Sprintf("52:54:00:0d:00:%02x", i)
		code, body := get(t, "http://"+p.boot+"/ipxe?role=services&mac="+mac)
		at := strings.Index(body, "ip=10.7.0.")
		if code != 200 || at < 0 {
			t.Fatalf("boot %s: %d %s", mac, code, body)
		}
		answered[mac] = strings.Fields(body[at+len("ip="):])[0]
	}
	file := filepath.Join(t.TempDir(), "live.db")
	code, out, errs := runDB(t, "backup", "--server", "http://"+p.admin, "--token-file", tokens, "-f", file)
	if code != 0 || !strings.Contains(out, "checked ok") {
		t.Fatalf("db backup --server: %d\n%s%s", code, out, errs)
	}
	got := leasesOf(t, file)
	inBackup := map[string]string{}
	for _, l := range got {
		inBackup[l.MAC] = l.Address.String()
	}
	for mac, addr := range answered {
		if inBackup[mac] != addr {
			t.Errorf("%s was answered %s; the backup gives it %q", mac, addr, inBackup[mac])
		}
	}
	if len(got) != len(answered)+2 { // and the registered n1 (pinned) and n2
		t.Errorf("backup holds %d leases, want %d", len(got), len(answered)+2)
	}
	// The data dir of the running server is locked: the offline verbs say
	// to use the server.
	if code, _, errs := runDB(t, "backup", "--data-dir", data, "-f", file+"2"); code != 1 || !strings.Contains(errs, "--server") {
		t.Errorf("offline backup of a running server's dir: %d %s", code, errs)
	}
	other := filepath.Join(t.TempDir(), "none.db")
	if code, _, errs := runDB(t, "backup", "--server", "http://"+p.admin, "-f", other); code != 1 || !strings.Contains(errs, "401") {
		t.Errorf("db backup without the token: %d %s", code, errs)
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Errorf("a refused backup left %s: %v", other, err)
	}
	// The live backup equals the stopped server's own file.
	p.stop(t)
	stopped := filepath.Join(t.TempDir(), "stopped.db")
	if code, out, errs := runDB(t, "backup", "--data-dir", data, "-f", stopped); code != 0 {
		t.Fatalf("db backup --data-dir after stop: %d %s%s", code, out, errs)
	}
	if after := leasesOf(t, stopped); !sameLeaseSet(after, got) {
		t.Errorf("live backup: %d leases; the stopped server's file: %d, or they differ", len(got), len(after))
	}
}

// serve refuses an existing empty database rather than starting over
// (which gave other machines' addresses away), naming the file.
func TestServeRefusesDamagedStore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, bolt.FileName)
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	refusesStart(t, nil, path+" (0 bytes)", "--data-dir", dir)
	refusesStart(t, nil, "restore a backup", "--data-dir", dir)

	// An altered lease record.
	src, leases := dbDir(t, 50)
	data, _ := os.ReadFile(filepath.Join(src, bolt.FileName))
	from := fmt.Appendf(nil, `"address":"%s"`, leases[3].Address)
	to := fmt.Appendf(nil, `"address":"%s"`, leases[4].Address)
	if len(from) != len(to) || bytes.Count(data, from) != 1 {
		t.Fatalf("cannot alter %s", from)
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, bolt.FileName), bytes.Replace(data, from, to, 1), 0o600)
	refusesStart(t, nil, leases[3].Address.String(), "--data-dir", bad)
	refusesStart(t, nil, leases[3].MAC, "--data-dir", bad)
}
