package bolt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
)

// damagePool is the pool of the damage tests' data dirs.
func damagePool(t testing.TB) *ipam.Pool {
	t.Helper()
	p := &ipam.Pool{Name: "rack1", CIDR: "10.9.0.0/22", Start: "10.9.0.10", End: "10.9.3.250", Gateway: "10.9.0.1"}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

// leasedDir returns a data dir whose store holds n leases, closed, and
// the leases.
func leasedDir(t testing.TB, n int) (string, []ipam.Lease) {
	t.Helper()
	dir := t.TempDir()
	s := mustOpen(t, dir)
	p := damagePool(t)
	for i := range n {
		if _, err := s.Allocate(t.Context(), p, crashMAC(i)); err != nil {
			t.Fatal(err)
		}
	}
	leases, err := s.Leases(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, leases
}

// copyDir copies the database of dir into a fresh dir.
func copyDir(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, FileName), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// refused opens dir and wants ErrDamaged naming the file and every one of
// want; it returns the message.
func refused(t *testing.T, dir string, want ...string) string {
	t.Helper()
	s, err := Open(dir)
	if err == nil {
		s.Close()
		t.Fatal("Open of a damaged database succeeded")
	}
	msg := err.Error()
	if !errors.Is(err, ErrDamaged) {
		t.Errorf("Open: %v, want ErrDamaged", err)
	}
	for _, w := range append([]string{filepath.Join(dir, FileName), "restore a backup", "delete the file"}, want...) {
		if !strings.Contains(msg, w) {
			t.Errorf("Open: %q\nwant it to name %q", msg, w)
		}
	}
	return msg
}

func TestOpenEmptyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	refused(t, dir, "(0 bytes)", "empty")
	if st, err := os.Stat(path); err != nil || st.Size() != 0 {
		t.Errorf("the refused file was changed: %v, %v", st, err)
	}
}

// A missing file is a first start.
func TestOpenMissingFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	s := mustOpen(t, dir)
	defer s.Close()
	if l, err := s.Leases(t.Context()); err != nil || len(l) != 0 {
		t.Fatalf("fresh store: %v leases, %v", l, err)
	}
}

func TestOpenTruncated(t *testing.T) {
	src, _ := leasedDir(t, 400)
	used := usedBytes(t, src)
	for _, size := range []int64{used / 2, 3 * 4096, used - 4096} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			dir := copyDir(t, src)
			if err := os.Truncate(filepath.Join(dir, FileName), size); err != nil {
				t.Fatal(err)
			}
			refused(t, dir, fmt.Sprintf("(%d bytes)", size), "truncated")
		})
	}
	// Cut to its used pages, the file is whole: bbolt grows files in
	// large steps and the rest is unused.
	t.Run("used", func(t *testing.T) {
		dir := copyDir(t, src)
		if err := os.Truncate(filepath.Join(dir, FileName), used); err != nil {
			t.Fatal(err)
		}
		mustOpen(t, dir).Close()
	})
	// The first two pages alone, or less: the header is cut.
	t.Run("header", func(t *testing.T) {
		dir := copyDir(t, src)
		if err := os.Truncate(filepath.Join(dir, FileName), 100); err != nil {
			t.Fatal(err)
		}
		refused(t, dir, "(100 bytes)")
	})
}

// Past the preflight, a read of a page mapped beyond the end of the file
// (a file truncated while open, or a header that lies) is a fault: guard
// turns it into an error naming the file instead of SIGBUS killing the
// process.
func TestGuardFault(t *testing.T) {
	src, _ := leasedDir(t, 400)
	dir := copyDir(t, src)
	path := filepath.Join(dir, FileName)
	if err := os.Truncate(path, 3*4096); err != nil {
		t.Fatal(err)
	}
	err := guard(path, func() error {
		db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, InitialMmapSize: 1 << 30})
		if err != nil {
			return err
		}
		// db is abandoned if the read faults: the test process exits soon.
		defer db.Close()
		return db.View(func(tx *bbolt.Tx) error {
			_, err := checkLeases(tx, func(string) bool { return true })
			return err
		})
	})
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), path) {
		t.Fatalf("guard: %v, want ErrDamaged naming %s", err, path)
	}
}

// Every page of a real store in turn overwritten with random bytes: Open
// either refuses, naming the file, or (the page was free) opens a store
// whose leases are all there, unchanged. Never a crash, never a
// duplicate.
func TestOpenGarbledPage(t *testing.T) {
	src, leases := leasedDir(t, 300)
	full, err := os.ReadFile(filepath.Join(src, FileName))
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	rng := rand.New(rand.NewPCG(1, 2))
	refusedN, opened := 0, 0
	for p := 0; int64(p*page) < usedBytes(t, src); p++ {
		data := bytes.Clone(full)
		for i := p * page; i < (p+1)*page && i < len(data); i++ {
			data[i] = byte(rng.UintN(256))
		}
		dir := t.TempDir()
		path := filepath.Join(dir, FileName)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir)
		if err != nil {
			refusedN++
			if !strings.Contains(err.Error(), path) {
				t.Errorf("page %d: Open: %q does not name the file", p, err)
			}
			continue
		}
		opened++
		got, err := s.Leases(t.Context())
		if err != nil {
			t.Errorf("page %d: opened, then Leases: %v", p, err)
		} else if !sameLeases(got, leases) {
			t.Errorf("page %d: opened with %d leases, want the %d written", p, len(got), len(leases))
		}
		s.Close()
	}
	t.Logf("%d pages: %d refused, %d opened (free pages)", refusedN+opened, refusedN, opened)
	if refusedN == 0 {
		t.Error("no garbled page was refused")
	}
}

// usedBytes returns how much of dir's database file is in use.
func usedBytes(t testing.TB, dir string) int64 {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, metaPageBytes)
	if _, err := f.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	m, ok := parseMeta(b)
	if !ok {
		t.Fatal("meta page 0 is invalid")
	}
	return m.used()
}

// sameLeases reports whether a and b hold the same (pool, address, mac)
// triples.
func sameLeases(a, b []ipam.Lease) bool {
	if len(a) != len(b) {
		return false
	}
	set := map[string]bool{}
	for _, l := range a {
		set[l.Pool+" "+l.Address.String()+" "+l.MAC] = true
	}
	for _, l := range b {
		if !set[l.Pool+" "+l.Address.String()+" "+l.MAC] {
			return false
		}
	}
	return true
}

// One lease record's address changed on disk, same length: its address
// now names another machine's address. Before, the store handed one
// address to two machines.
func TestOpenAlteredLeaseRecord(t *testing.T) {
	src, leases := leasedDir(t, 300)
	dir := copyDir(t, src)
	path := filepath.Join(dir, FileName)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// 10.9.0.17 becomes 10.9.0.18, which another machine holds.
	var victim, holder ipam.Lease
	for _, l := range leases {
		switch l.Address.String() {
		case "10.9.0.17":
			victim = l
		case "10.9.0.18":
			holder = l
		}
	}
	old := []byte(`"address":"10.9.0.17"`)
	if bytes.Count(data, old) != 1 {
		t.Fatalf("%s occurs %d times in the file", old, bytes.Count(data, old))
	}
	data = bytes.Replace(data, old, []byte(`"address":"10.9.0.18"`), 1)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	refused(t, dir, "pool rack1", "address 10.9.0.17: the lease record says address 10.9.0.18 (mac "+victim.MAC+"), an address whose own record gives it to mac "+holder.MAC)
}

// Two machines' entries of the mac index swapped: each mac maps to the
// other's address.
func TestOpenSwappedIndex(t *testing.T) {
	src, leases := leasedDir(t, 300)
	dir := copyDir(t, src)
	a, b := leases[5], leases[6]
	editDB(t, dir, func(tx *bbolt.Tx) error {
		macB := tx.Bucket(bLeases).Bucket([]byte("rack1")).Bucket(bMAC)
		if err := macB.Put([]byte(a.MAC), addrKey(b.Address)); err != nil {
			return err
		}
		return macB.Put([]byte(b.MAC), addrKey(a.Address))
	})
	refused(t, dir, "pool rack1", a.MAC, b.MAC, a.Address.String(), b.Address.String())
}

func TestOpenUndecodableLease(t *testing.T) {
	src, leases := leasedDir(t, 50)
	dir := copyDir(t, src)
	editDB(t, dir, func(tx *bbolt.Tx) error {
		return tx.Bucket(bLeases).Bucket([]byte("rack1")).Bucket(bAddr).Put(addrKey(leases[3].Address), []byte("{\"pool\":"))
	})
	refused(t, dir, "pool rack1", leases[3].Address.String(), "does not decode")
}

// A mac index entry whose address has no record, and a record whose mac
// has no index entry.
func TestOpenHalfLease(t *testing.T) {
	src, leases := leasedDir(t, 50)
	t.Run("record missing", func(t *testing.T) {
		dir := copyDir(t, src)
		editDB(t, dir, func(tx *bbolt.Tx) error {
			return tx.Bucket(bLeases).Bucket([]byte("rack1")).Bucket(bAddr).Delete(addrKey(leases[7].Address))
		})
		refused(t, dir, "pool rack1", leases[7].Address.String(), leases[7].MAC, "no lease record")
	})
	t.Run("index missing", func(t *testing.T) {
		dir := copyDir(t, src)
		editDB(t, dir, func(tx *bbolt.Tx) error {
			return tx.Bucket(bLeases).Bucket([]byte("rack1")).Bucket(bMAC).Delete([]byte(leases[8].MAC))
		})
		refused(t, dir, "pool rack1", leases[8].Address.String(), leases[8].MAC, "maps to no address")
	})
}

// editDB changes a closed store with bbolt directly, as damage would.
func editDB(t *testing.T, dir string, fn func(*bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// decodeLease's direct parse gives what encoding/json gives, for every
// shape json.Marshal writes and for the odd ones it falls back on.
func TestDecodeLease(t *testing.T) {
	for _, l := range []ipam.Lease{
		{Pool: "rack1", Address: netip.MustParseAddr("10.9.0.17"), MAC: "52:54:00:00:00:01", Created: 1764547200},
		{Pool: "v6", Address: netip.MustParseAddr("fd00::17"), MAC: "52:54:00:00:00:02", Pinned: true},
		{Pool: "a<b>\"c\\", Address: netip.MustParseAddr("192.168.1.1"), MAC: "x", Created: -5},
	} {
		data, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		var got ipam.Lease
		if err := decodeLease(data, &got); err != nil || got != l {
			t.Errorf("decodeLease(%s) = %+v, %v; want %+v", data, got, err, l)
		}
	}
	for _, bad := range []string{``, `{`, `{"pool":"p","address":"nope","mac":"m","pinned":false,"created":1}`, `null`, `{"pool":"p","address":"10.0.0.1","mac":"m","pinned":false,"created":1x}`} {
		var got, want ipam.Lease
		errGot := decodeLease([]byte(bad), &got)
		errWant := json.Unmarshal([]byte(bad), &want)
		if (errGot == nil) != (errWant == nil) || got != want {
			t.Errorf("decodeLease(%q) = %+v, %v; encoding/json: %+v, %v", bad, got, errGot, want, errWant)
		}
	}
}

// An undecodable catalog object or inventory record is an error naming
// the file and the record, never a crash or a silently shorter catalog.
func TestUndecodableRecords(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	c := catalog.New()
	c.Groups["g"] = &groups.Group{ID: "g", Profile: "p"}
	c.Profiles["p"] = &profiles.Profile{ID: "p", Boot: profiles.Boot{Kernel: "/k"}}
	if err := s.ReplaceCatalog(t.Context(), c, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	editDB(t, dir, func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bCatalog).Bucket([]byte("groups")).Put([]byte("g"), []byte(`{"id":"g","profile":`)); err != nil {
			return err
		}
		good, err := (&inventory.Machine{Key: "52:54:00:00:00:00", LastEndpoint: "/ipxe", State: inventory.Discovered}).AppendJSON(nil)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bInventory).Put([]byte("52:54:00:00:00:00"), good); err != nil {
			return err
		}
		return tx.Bucket(bInventory).Put([]byte("52:54:00:00:00:01"), []byte(`{"key":`))
	})
	s = mustOpen(t, dir) // leases are sound: Open succeeds
	defer s.Close()
	path := filepath.Join(dir, FileName)
	if _, err := s.LoadCatalog(t.Context()); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "stored groups/g does not decode") {
		t.Errorf("LoadCatalog: %v", err)
	}
	_, merr := s.Machines(t.Context())
	if !errors.Is(merr, ErrDamaged) || !strings.Contains(merr.Error(), path) ||
		!strings.Contains(merr.Error(), "stored inventory/52:54:00:00:00:01 does not decode: unexpected end of JSON input") {
		t.Errorf("Machines: %v", merr)
	}
	// The walk a start builds its recorder from refuses the same way,
	// after the records before the damaged one.
	var walked []string
	werr := s.WalkMachines(t.Context(), func(m inventory.Machine) error { walked = append(walked, m.Key); return nil })
	if !errors.Is(werr, ErrDamaged) || merr == nil || werr.Error() != merr.Error() {
		t.Errorf("WalkMachines: %v, want Machines' %v", werr, merr)
	}
	if !slices.Equal(walked, []string{"52:54:00:00:00:00"}) {
		t.Errorf("WalkMachines walked %q before the damaged record, want the one before it", walked)
	}
	rep, err := Check(dir)
	if err == nil {
		t.Fatal("Check of a dir in use succeeded") // the store above holds it
	}
	s.Close()
	if rep, err = Check(dir); err != nil || len(rep.Problems) != 2 {
		t.Errorf("Check: %+v, %v; want the two records", rep, err)
	}
}

// TestWalkMachinesPanic: a panic in a walk's function is the caller's
// bug, raised again as it is, not reported as a damaged file (the walk
// reads the file under guard, which turns a fault into ErrDamaged).
func TestWalkMachinesPanic(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	defer s.Close()
	if err := s.SaveMachines(t.Context(), []inventory.Machine{{Key: "52:54:00:00:00:01"}}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r != "the caller's" {
			t.Errorf("recovered %v, want the function's own panic", r)
		}
	}()
	err := s.WalkMachines(t.Context(), func(inventory.Machine) error { panic("the caller's") })
	t.Errorf("WalkMachines returned %v, want the function's panic", err)
}
