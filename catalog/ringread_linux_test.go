package catalog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// ringAvailable reports whether this kernel gives the ring readBatch
// needs (io_uring with opens into fixed-file slots): where it does not,
// the tests below still check that the loads agree, through readScratch.
func ringAvailable(t *testing.T, d catalogDir) bool {
	t.Helper()
	rr := d.newRingReader()
	if rr == nil {
		t.Logf("no io_uring here: every file is read by readScratch")
		return false
	}
	rr.close()
	return true
}

// TestRingReadBatchSameBytes: what readBatch reads whole is, byte for
// byte, what readScratch reads; a file it does not read whole (bigger
// than its buffer, a directory, gone, a name too long) it says so of,
// and readScratch gives that file's outcome. Ordinary files of up to
// ringFileBuf bytes are read by the ring, in batches whose slots are
// used again and again.
func TestRingReadBatchSameBytes(t *testing.T) {
	ringRefused.Store(false)
	dir := t.TempDir()
	var files []catalogFile
	add := func(name string, data []byte) {
		p := filepath.Join(dir, name)
		if data != nil {
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		files = append(files, catalogFile{path: p, name: name})
	}
	sizes := []int{0, 1, 2, 400, 4095, 4096, 4097, ringFileBuf - 1, ringFileBuf, ringFileBuf + 1, 3*ringFileBuf + 7}
	for i := range 300 {
		size := sizes[i%len(sizes)]
		data := bytes.Repeat([]byte{byte('a' + i%26)}, size)
		if size > 0 {
			data[size-1] = '\n'
		}
		add(fmt.Sprintf("f%03d.json", i), data)
	}
	add("link.json", nil)
	if err := os.Symlink("f003.json", filepath.Join(dir, "link.json")); err != nil {
		t.Fatal(err)
	}
	add("dangling.json", nil)
	if err := os.Symlink("nowhere.json", filepath.Join(dir, "dangling.json")); err != nil {
		t.Fatal(err)
	}
	add("sub.json", nil)
	if err := os.Mkdir(filepath.Join(dir, "sub.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	add("gone.json", nil)
	add(strings.Repeat("n", 300)+".json", nil) // longer than NAME_MAX: no such file can exist

	d := openCatalogDir(dir)
	defer d.close()
	ring := ringAvailable(t, d)
	rr := d.newRingReader()
	defer func() { rr.close() }()
	ringRead := 0
	for lo := 0; lo < len(files); lo += ringBatchFiles {
		batch := files[lo:min(lo+ringBatchFiles, len(files))]
		seen := make([]bool, len(batch))
		if rr != nil {
			more := rr.readBatch(batch, func(k int, data []byte, ok bool) {
				seen[k] = true
				f := batch[k]
				want, werr := d.readScratch(f.path, "groups", nil)
				if !ok {
					return
				}
				ringRead++
				if werr != nil {
					t.Errorf("%s: the ring read %d bytes, readScratch fails: %v", f.name, len(data), werr)
				} else if !bytes.Equal(data, want) {
					t.Errorf("%s: the ring read %d bytes, readScratch %d", f.name, len(data), len(want))
				}
				if fi, err := os.Stat(f.path); err == nil && fi.Size() > ringFileBuf {
					t.Errorf("%s: %d bytes read whole by the ring, whose buffer is %d", f.name, fi.Size(), ringFileBuf)
				}
			})
			if !more {
				t.Fatalf("batch at %d: the ring failed", lo)
			}
			for k, s := range seen {
				if !s {
					t.Errorf("%s: not reported", batch[k].name)
				}
			}
		}
	}
	if !ring {
		return
	}
	// Every regular file of up to ringFileBuf bytes, the symlink to one
	// included: 300 * 9/11 of them, plus the link.
	want := 0
	for i := range 300 {
		if sizes[i%len(sizes)] <= ringFileBuf {
			want++
		}
	}
	want++
	if ringRead != want {
		t.Errorf("the ring read %d files whole, want %d (every file of up to %d bytes)", ringRead, want, ringFileBuf)
	}
}

// TestRingLoadSame: a directory of many group files loads to the same
// catalog, and a broken one to the same error, with the ring and
// without it, on one goroutine and on several.
func TestRingLoadSame(t *testing.T) {
	dir, write := groupsDir(t)
	for i := range 700 {
		meta := ""
		if i%7 == 0 {
			meta = fmt.Sprintf(`,"metadata":{"pad":%q}`, strings.Repeat("x", 20000)) // over the ring's buffer
		}
		write(fmt.Sprintf("groups/g%04d.json", i), fmt.Sprintf(`{"id":"g%04d","profile":"p","selector":{"mac":"52:54:00:00:%02x:%02x"}%s}`, i, i>>8, i&0xff, meta))
	}
	load := func(ring bool, procs int) (*Catalog, error) {
		defer func(r bool) { ringReads = r }(ringReads)
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		ringReads = ring
		ringRefused.Store(false)
		return LoadDir(dir)
	}
	base, err := load(false, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(base.Groups) != 700 {
		t.Fatalf("%d groups", len(base.Groups))
	}
	for _, procs := range []int{1, 4} {
		c, err := load(true, procs)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c.Groups, base.Groups) {
			t.Errorf("GOMAXPROCS %d: the groups loaded through the ring differ", procs)
		}
	}

	write("groups/g0650.json", `{"id":"g0650","profile":"p","selector":{"mac":7}}`)
	write("groups/g0300.json", "{\"id\":\"g0300\",\n\"profile\":\"p\",,}")
	if err := os.Chmod(filepath.Join(dir, "groups", "g0500.json"), 0); err != nil {
		t.Fatal(err)
	}
	_, want := load(false, 1)
	if want == nil || !strings.Contains(want.Error(), "g0300.json:2:") {
		t.Fatalf("without the ring: %v, want g0300.json's error", want)
	}
	for _, procs := range []int{1, 4} {
		if _, err := load(true, procs); err == nil || err.Error() != want.Error() {
			t.Errorf("GOMAXPROCS %d through the ring: %v, want %v", procs, err, want)
		}
	}
	if os.Getuid() == 0 {
		return // root reads a file of mode 0
	}
	os.Remove(filepath.Join(dir, "groups", "g0300.json"))
	_, want = load(false, 1)
	if !errorIs(want, syscall.EACCES) {
		t.Fatalf("without the ring: %v, want g0500.json's permission error", want)
	}
	if _, err := load(true, 4); err == nil || err.Error() != want.Error() {
		t.Errorf("through the ring: %v, want %v", err, want)
	}
}

func errorIs(err error, target error) bool {
	return err != nil && strings.Contains(err.Error(), target.Error())
}
