package catalog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// prefetchGroups writes n group files (more than prefetchMin) into a new
// catalog directory, in an order unrelated to their names (as the
// generator's goroutines do, and unlike their directory order), and
// returns the directory and its write function.
func prefetchGroups(t *testing.T, n int) (string, func(path, text string)) {
	t.Helper()
	dir, write := groupsDir(t)
	for k := range n {
		i := (k * 7919) % n // 7919 is prime: every i once
		write(fmt.Sprintf("groups/g%04d.json", i), fmt.Sprintf(`{"id":"g%04d","profile":"p","selector":{"mac":"52:54:00:00:%02x:%02x"}}`, i, i>>8, i&0xff))
	}
	return dir, write
}

// withProbe makes prefetch's decision probe for the test.
func withProbe(t *testing.T, probe func(catalogDir, []catalogFile) bool) {
	t.Helper()
	saved := coldProbe
	coldProbe = probe
	t.Cleanup(func() { coldProbe = saved })
}

func alwaysCold(catalogDir, []catalogFile) bool { return true }
func neverCold(catalogDir, []catalogFile) bool  { return false }

// TestLoadDirPrefetchSameCatalog: a directory loaded with prefetch (the
// files taken for cold) is the catalog loaded without it, on one
// goroutine and on several, and with posix_fadvise in place of the ring.
func TestLoadDirPrefetchSameCatalog(t *testing.T) {
	dir, _ := prefetchGroups(t, 2*prefetchMin+17)
	withProbe(t, neverCold)
	want, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Groups) != 2*prefetchMin+17 {
		t.Fatalf("%d groups", len(want.Groups))
	}
	for _, procs := range []int{1, 4} {
		for _, ring := range []bool{true, false} {
			func() {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				prefetchRing = ring
				defer func() { prefetchRing = true }()
				probed := 0
				withProbe(t, func(catalogDir, []catalogFile) bool { probed++; return true })
				got, err := LoadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				if probed != 1 { // groups/; profiles/ holds one file
					t.Errorf("GOMAXPROCS %d, ring %v: prefetch probed %d directories, want 1", procs, ring, probed)
				}
				if !reflect.DeepEqual(got.Groups, want.Groups) || !reflect.DeepEqual(got.Sources, want.Sources) || !reflect.DeepEqual(got.Notes, want.Notes) {
					t.Errorf("GOMAXPROCS %d, ring %v: the catalog differs from the one loaded without prefetch", procs, ring)
				}
			}()
		}
	}
}

// TestLoadDirPrefetchFirstError: with prefetch reading the files in
// inode order, the error reported is still the one of the first bad file
// in directory order, when a bad file later in the listing has the lower
// inode number (a pair found in the real listing: the file system, not
// the test, gives inode numbers, and may reuse freed ones).
func TestLoadDirPrefetchFirstError(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	dir, write := groupsDir(t)
	// Made last to first: a file system that numbers files as they are
	// made numbers them against the listing (by name).
	for i := 999; i >= 0; i-- {
		write(fmt.Sprintf("groups/g%04d.json", i), fmt.Sprintf(`{"id":"g%04d","profile":"p"}`, i))
	}
	files, err := listFiles(dir, "groups", ".json", new([]string))
	if err != nil {
		t.Fatal(err)
	}
	if readOrder(files) == nil {
		t.Skip("no inode numbers in this file system's listing")
	}
	// first: a file listed before late, whose inode number is higher
	// (the highest of those listed before late).
	first, late, highest := -1, -1, 0
	for j := 1; j < len(files) && first < 0; j++ {
		if files[j].ino < files[highest].ino {
			first, late = highest, j
		} else {
			highest = j
		}
	}
	if first < 0 {
		t.Skip("this file system lists the files in inode order")
	}
	// Rewritten in place: the same inodes.
	write("groups/"+files[late].name+".json", fmt.Sprintf(`{"id":%q,"profile":"p","selector":{"mac":7}}`, files[late].name))
	write("groups/"+files[first].name+".json", fmt.Sprintf("{\"id\":%q,\n\"profile\":\"p\",,}", files[first].name))
	again, err := listFiles(dir, "groups", ".json", new([]string))
	if err != nil {
		t.Fatal(err)
	}
	if again[first].ino != files[first].ino || again[late].ino != files[late].ino {
		t.Fatal("rewriting the files changed their inodes: the test proves nothing here")
	}
	withProbe(t, alwaysCold)
	want := files[first].name + ".json:2:"
	for range 3 {
		if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want the error of groups/%s at line 2 (%s, listed after it, has the lower inode)", err, files[first].name+".json", files[late].name+".json")
		}
	}
}

// TestLoadDirPrefetchFileGone: a file listed but gone before it is read
// gives the error it gives without prefetch; so do a symlink to a
// directory, a dangling symlink and a file over MaxFileSize, in place of
// the first group file.
func TestLoadDirPrefetchFileGone(t *testing.T) {
	dir, write := prefetchGroups(t, prefetchMin+1)
	first := filepath.Join(dir, "groups", "g0000.json")
	elsewhere := t.TempDir()
	cases := []struct {
		name string
		make func()
	}{
		{"removed after the listing", nil},
		{"a symlink to a directory", func() { must(t, os.Symlink(elsewhere, first)) }},
		{"a dangling symlink", func() { must(t, os.Symlink(filepath.Join(elsewhere, "gone"), first)) }},
		{"over MaxFileSize", func() { write("groups/g0000.json", "{}"); must(t, os.Truncate(first, MaxFileSize+1)) }},
	}
	for _, c := range cases {
		load := func(cold bool) error {
			os.Remove(first)
			write("groups/g0000.json", `{"id":"g0000","profile":"p"}`)
			withProbe(t, func(catalogDir, []catalogFile) bool {
				// Listed: now it goes, or becomes something else.
				must(t, os.Remove(first))
				if c.make != nil {
					c.make()
				}
				return cold
			})
			_, err := LoadDir(dir)
			return err
		}
		without, with := load(false), load(true)
		if without == nil || with == nil || with.Error() != without.Error() || !strings.HasPrefix(with.Error(), first+":") {
			t.Errorf("%s: with prefetch %v, without %v", c.name, with, without)
		}
		if c.make == nil && !errors.Is(with, os.ErrNotExist) {
			t.Errorf("%s: %v, want a file not found", c.name, with)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadDirNamesInodes: the listing gives each file's inode number.
func TestReadDirNamesInodes(t *testing.T) {
	dir, _ := prefetchGroups(t, 50)
	names, err := readDirNames(filepath.Join(dir, "groups"))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 50 {
		t.Fatalf("%d names", len(names))
	}
	for _, e := range names {
		var st syscall.Stat_t
		must(t, syscall.Lstat(filepath.Join(dir, "groups", e.name), &st))
		if e.ino != st.Ino || e.ino == 0 {
			t.Errorf("%s: inode %d, lstat says %d", e.name, e.ino, st.Ino)
		}
	}
}

// evict drops files from the page cache (written back first); false
// where the file system keeps them (tmpfs).
func evict(t *testing.T, paths []string) bool {
	t.Helper()
	for _, p := range paths {
		f, err := os.Open(p)
		must(t, err)
		must(t, f.Sync())
		must(t, unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED))
		resident, ok := inPageCache(int(f.Fd()))
		f.Close()
		if !ok || resident {
			return false
		}
	}
	return true
}

// TestPrefetchReadsIntoPageCache: the probe finds files dropped from the
// page cache cold, and prefetch (by ring, and by posix_fadvise) brings
// every one back, after which the probe finds them warm.
func TestPrefetchReadsIntoPageCache(t *testing.T) {
	dir, _ := prefetchGroups(t, prefetchMin)
	files, err := listFiles(dir, "groups", ".json", new([]string))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range files {
		paths = append(paths, f.path)
	}
	d := openCatalogDir(filepath.Join(dir, "groups"))
	defer d.close()
	for _, ring := range []bool{true, false} {
		if !evict(t, paths) {
			t.Skip("this file system keeps the files in the page cache (tmpfs?)")
		}
		if !d.cold(files) {
			t.Fatalf("ring %v: files dropped from the page cache, and the probe finds them warm", ring)
		}
		prefetchRing = ring
		d.prefetch(files)
		prefetchRing = true
		// The ring's reads are done when prefetch returns; posix_fadvise's
		// were started, and may still be under way.
		deadline := time.Now().Add(30 * time.Second)
		for _, p := range paths {
			for {
				f, err := os.Open(p)
				must(t, err)
				resident, ok := inPageCache(int(f.Fd()))
				f.Close()
				if ok && resident {
					break
				}
				if ring || time.Now().After(deadline) {
					t.Fatalf("ring %v: %s not in the page cache after prefetch", ring, p)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		if d.cold(files) {
			t.Errorf("ring %v: the probe finds the files cold after prefetch", ring)
		}
	}
}

// TestURingRead: a read through the ring gives the file's bytes and its
// tag; one of a directory gives -EISDIR.
func TestURingRead(t *testing.T) {
	r, err := newURing(4)
	if err != nil {
		t.Skipf("no io_uring here (%v): prefetch uses posix_fadvise", err)
	}
	defer r.close()
	p := filepath.Join(t.TempDir(), "f")
	must(t, os.WriteFile(p, []byte("hello, ring"), 0o644))
	f, err := os.Open(p)
	must(t, err)
	defer f.Close()
	dirf, err := os.Open(t.TempDir())
	must(t, err)
	defer dirf.Close()
	buf := make([]byte, 5)
	one := make([]byte, 1)
	iovs := []unix.Iovec{{Base: &buf[0]}, {Base: &one[0]}}
	iovs[0].SetLen(len(buf))
	iovs[1].SetLen(len(one))
	r.queueRead(int(f.Fd()), &iovs[0], 7)
	r.queueRead(int(dirf.Fd()), &iovs[1], 9)
	must(t, r.enter(2))
	got := map[uint64]int32{}
	for len(got) < 2 {
		if r.reap(func(tag uint64, res int32) { got[tag] = res }) == 0 {
			must(t, r.enter(1))
		}
	}
	runtime.KeepAlive(buf)
	runtime.KeepAlive(one)
	runtime.KeepAlive(iovs)
	if got[7] != 5 || string(buf) != "hello" {
		t.Errorf("read of the file: %d, %q", got[7], buf)
	}
	if got[9] != -int32(unix.EISDIR) {
		t.Errorf("read of a directory: %d, want -EISDIR", got[9])
	}
}

// TestPrefetchURingFIFO: a FIFO among the files, with a writer that
// writes nothing (a read of it would wait for ever), does not hold the
// prefetch up: it opens every file without waiting (O_NONBLOCK) and
// reads only regular files (the ring's read of a FIFO waits for its
// writer, O_NONBLOCK or not: a prefetch that opened and read each file
// in the ring, tried in the eleventh pass, failed this test).
func TestPrefetchURingFIFO(t *testing.T) {
	dir, _ := prefetchGroups(t, prefetchMin)
	fifo := filepath.Join(dir, "groups", "g0100.json")
	must(t, os.Remove(fifo))
	must(t, unix.Mkfifo(fifo, 0o644))
	w, err := os.OpenFile(fifo, os.O_RDWR, 0) // a writer (and reader) that never writes
	must(t, err)
	defer w.Close()
	files, err := listFiles(dir, "groups", ".json", new([]string))
	must(t, err)
	d := openCatalogDir(filepath.Join(dir, "groups"))
	defer d.close()
	order := readOrder(files)
	if order == nil {
		t.Fatal("no inode order")
	}
	done := make(chan error, 1)
	go func() { done <- d.prefetchURing(files, order) }()
	select {
	case err := <-done:
		if err != nil {
			t.Skipf("no ring here for prefetch (%v): posix_fadvise is used", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("prefetch through the ring waits on the FIFO")
	}
}
