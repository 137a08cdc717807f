package catalog

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestLoadDirManyGroupsParallel loads a directory of many group files on
// several goroutines: every group is there, and of two broken files the
// error always names the first in directory order, as a one-at-a-time
// load would.
func TestLoadDirManyGroupsParallel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	dir, write := groupsDir(t)
	const n = 2000
	for i := range n {
		// Half the files have no id: they take the file name.
		id := fmt.Sprintf(`"id":"g%04d",`, i)
		if i%2 == 1 {
			id = ""
		}
		write(fmt.Sprintf("groups/g%04d.json", i), fmt.Sprintf(`{%s"profile":"p","selector":{"mac":"52:54:00:00:%02x:%02x"}}`, id, i>>8, i&0xff))
	}
	c, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Groups) != n {
		t.Fatalf("%d groups, want %d", len(c.Groups), n)
	}
	for _, i := range []int{0, 1, 1001, n - 1} {
		id := fmt.Sprintf("g%04d", i)
		if src, _ := c.Sources.Get("groups/" + id); c.Groups[id] == nil || src != filepath.Join(dir, "groups", id+".json") {
			t.Errorf("group %s: %v, source %q", id, c.Groups[id], src)
		}
	}

	write("groups/g1500.json", `{"id":"g1500","profile":"p","selector":{"mac":7}}`)
	write("groups/g0700.json", "{\"id\":\"g0700\",\n\"profile\":\"p\",,}")
	for range 5 {
		_, err := LoadDir(dir)
		if err == nil || !strings.Contains(err.Error(), "g0700.json:2:") {
			t.Fatalf("got %v, want the error of groups/g0700.json at line 2", err)
		}
	}
	write("groups/g0700.json", `{"id":"g0001","profile":"p"}`)
	_, err = LoadDir(dir)
	if err == nil || !strings.Contains(err.Error(), "g0001.json and ") || !strings.Contains(err.Error(), "g0700.json: both have group id") {
		t.Fatalf("got %v, want the duplicate id of g0001 and g0700", err)
	}
}

// groupsDir returns a new catalog directory holding profile p (kernel
// /k) and an empty groups/, and a function that writes a file into it.
func groupsDir(t *testing.T) (string, func(path, text string)) {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"profiles", "groups"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, path), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("profiles/p.json", `{"id":"p","boot":{"kernel":"/k"}}`)
	return dir, write
}
