package bolt

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/storage"
)

// smallDisk mounts a tmpfs of size bytes on a fresh directory, unmounted
// at the end of the test; it skips the test when it cannot (not root, no
// mount in this sandbox).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: mounting a small tmpfs to fill needs root (run the tests as root to include the full-disk test)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("skipped: mount -t tmpfs -o size=%s failed (%v: %s): this environment does not allow mounts", size, err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file until the file system is full and returns its path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			return path
		}
	}
}

// A full disk: a new lease, a catalog write and an inventory flush fail
// with storage.ErrUnavailable naming the file and the cause; reads and
// leases already held go on; when space returns, writes succeed again and
// nothing written before is lost.
func TestDiskFull(t *testing.T) {
	mnt := smallDisk(t, "4m")
	dir := filepath.Join(mnt, "data")
	s := mustOpen(t, dir)
	defer s.Close()
	p := damagePool(t)
	c := catalog.New()
	c.Pools[p.Name] = p
	if err := s.ReplaceCatalog(t.Context(), c, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if _, err := s.Allocate(t.Context(), p, crashMAC(i)); err != nil {
			t.Fatal(err)
		}
	}
	before := checkStore(t, s)
	filler := fill(t, mnt)

	// New leases: keep asking until the store has used up the pages it
	// had free (a commit may still fit in them).
	var err error
	for i := 100; i < 5000 && err == nil; i++ {
		_, err = s.Allocate(t.Context(), p, crashMAC(i))
	}
	if err == nil {
		t.Fatal("5,000 new leases on a full disk, no error")
	}
	wantFull := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("%s: %v, want ErrUnavailable", what, err)
		}
		if msg := err.Error(); !strings.Contains(msg, s.Path()) || !strings.Contains(msg, "no space left on device") {
			t.Errorf("%s: %q, want the file %s and the cause", what, msg, s.Path())
		}
	}
	wantFull("Allocate", err)
	t.Logf("full disk: %v", err)
	big := catalog.New()
	big.Pools[p.Name] = p
	big.Templates["generic"]["big"] = strings.Repeat("x", 1<<20)
	wantFull("ReplaceCatalog", s.ReplaceCatalog(t.Context(), big, nil))
	ms := make([]inventory.Machine, 2000)
	for i := range ms {
		ms[i] = inventory.Machine{Key: crashMAC(i), MAC: crashMAC(i), LastEndpoint: strings.Repeat("s", 500)}
	}
	wantFull("SaveMachines", s.SaveMachines(t.Context(), ms))

	// Leases held are still read.
	if got, err := s.Leases(t.Context()); err != nil || !subset(before, got) {
		t.Fatalf("Leases on a full disk: %d, %v", len(got), err)
	}

	// Space returns.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	l, err := s.Allocate(t.Context(), p, crashMAC(9999))
	if err != nil {
		t.Fatalf("Allocate after space returned: %v", err)
	}
	if err := s.ReplaceCatalog(t.Context(), big, nil); err != nil {
		t.Fatalf("ReplaceCatalog after space returned: %v", err)
	}
	after := checkStore(t, s)
	if !subset(before, after) {
		t.Error("leases written before the disk filled are gone")
	}
	// And the file is sound for the next start.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := mustOpen(t, dir)
	defer s2.Close()
	if got := checkStore(t, s2); !subset(after, got) || !subset([]ipam.Lease{l}, got) {
		t.Error("reopened store lacks leases")
	}
}
