package catalog

import (
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// atime returns path's access time.
func atime(t *testing.T, path string) time.Time {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return time.Unix(st.Atim.Unix())
}

// ageAccessTimes sets the access time of every file under dir to an hour
// before its modification time, so that a read of it (relatime, the
// default) writes a new one.
func ageAccessTimes(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, path)
		return os.Chtimes(path, info.ModTime().Add(-time.Hour), info.ModTime())
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestLoadLeavesAccessTimes: loading a catalog directory, with the
// prefetch and without, leaves every file's access time as it was. A
// plain read of one of them must change its access time first, or this
// filesystem (mounted noatime) cannot tell and the test is skipped.
func TestLoadLeavesAccessTimes(t *testing.T) {
	dir, _ := prefetchGroups(t, 2*prefetchMin+5)
	files := ageAccessTimes(t, dir)
	before := atime(t, files[0])
	if _, err := os.ReadFile(files[0]); err != nil {
		t.Fatal(err)
	}
	if atime(t, files[0]).Equal(before) {
		t.Skip("a read does not change access times on this filesystem")
	}
	for _, probe := range []func(catalogDir, []catalogFile) bool{neverCold, alwaysCold} {
		withProbe(t, probe)
		files := ageAccessTimes(t, dir)
		want := make([]time.Time, len(files))
		for i, f := range files {
			want[i] = atime(t, f)
		}
		c, err := LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Groups) != 2*prefetchMin+5 {
			t.Fatalf("%d groups", len(c.Groups))
		}
		for i, f := range files {
			if got := atime(t, f); !got.Equal(want[i]) {
				t.Errorf("%s: access time %v after the load, was %v", f, got, want[i])
			}
		}
	}
}

// TestLoadWithoutNoAtime: where the kernel refuses O_NOATIME (a file
// the process does not own), the load opens without it, stops asking,
// and loads the same catalog.
func TestLoadWithoutNoAtime(t *testing.T) {
	dir, _ := prefetchGroups(t, 2*prefetchMin+5)
	withProbe(t, neverCold)
	want, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	saved := openFile
	var asked, opened atomic.Int64
	openFile = func(dirfd int, path string, flags int) (int, error) {
		if flags&syscall.O_NOATIME != 0 {
			asked.Add(1)
			return -1, syscall.EPERM
		}
		opened.Add(1)
		return saved(dirfd, path, flags)
	}
	noAtimeRefused.Store(false)
	t.Cleanup(func() {
		openFile = saved
		noAtimeRefused.Store(false)
	})
	got, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Groups, want.Groups) {
		t.Error("the catalog loaded without O_NOATIME differs")
	}
	if !noAtimeRefused.Load() {
		t.Error("O_NOATIME refused, and still asked for")
	}
	if n := asked.Load(); n == 0 || n > int64(len(want.Groups))/4 {
		t.Errorf("O_NOATIME asked for %d times over %d files opened: want some, then no more", n, opened.Load())
	}
}
