package catalog

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestLoadDirGroupsReadIntoOneBuffer: group files are read into one buffer
// per goroutine (readScratch), so a long file followed by short ones, and
// the reverse, must each decode as itself, with nothing of another file
// left in it; on one goroutine and on several.
func TestLoadDirGroupsReadIntoOneBuffer(t *testing.T) {
	for _, procs := range []int{1, 4} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			dir, write := groupsDir(t)
			const n = 700
			for i := range n {
				// Every tenth group carries a long note (past any
				// buffer the short ones made), the ones after it short.
				note := fmt.Sprintf("note-%d", i)
				if i%10 == 0 {
					note = strings.Repeat(fmt.Sprintf("long-%d-", i), 400+i)
				}
				write(fmt.Sprintf("groups/g%04d.json", i), fmt.Sprintf(`{"id":"g%04d","profile":"p","selector":{"mac":"52:54:00:00:%02x:%02x"},"metadata":{"note":%q}}`, i, i>>8, i&0xff, note))
			}
			c, err := LoadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Groups) != n {
				t.Fatalf("%d groups, want %d", len(c.Groups), n)
			}
			for i := range n {
				want := fmt.Sprintf("note-%d", i)
				if i%10 == 0 {
					want = strings.Repeat(fmt.Sprintf("long-%d-", i), 400+i)
				}
				g := c.Groups[fmt.Sprintf("g%04d", i)]
				if g == nil || g.Metadata.Map()["note"] != want || g.Selector.Map()["mac"] != fmt.Sprintf("52:54:00:00:%02x:%02x", i>>8, i&0xff) {
					t.Fatalf("group %d: %+v", i, g)
				}
			}
		})
	}
}

// TestLoadDirRefusesALargeGroupFile: a group file over MaxFileSize is
// refused naming the file and its size, read into the reused buffer or not.
func TestLoadDirRefusesALargeGroupFile(t *testing.T) {
	files := base()
	dir := writeDir(t, files)
	path := filepath.Join(dir, "groups", "big.json")
	big := `{"id":"big","profile":"p","metadata":{"x":"` + strings.Repeat("x", MaxFileSize) + `"}}`
	if err := os.WriteFile(path, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadDir(dir)
	want := fmt.Sprintf("%s: %d bytes, more than the %d allowed", path, len(big), MaxFileSize)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
}

// TestListFilesOrderAndSkips: the listing is in name order (bytes), hidden
// files and backups are skipped, a subdirectory of groups/ is skipped with
// a note, and a symlink to a directory is listed (and refused when read).
func TestListFilesOrderAndSkips(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "groups")
	if err := os.MkdirAll(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"b.json", "a.json", "B.json", ".hidden.json", "c.json~", "a0.json", "README.md"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(root, "sub"), filepath.Join(root, "link.json")); err != nil {
		t.Fatal(err)
	}
	var notes []string
	files, err := listFiles(dir, "groups", ".json", &notes)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		if f.path != filepath.Join(root, f.name+".json") {
			t.Errorf("path %q for name %q", f.path, f.name)
		}
		got = append(got, f.name)
	}
	if want := "B a a0 b link"; strings.Join(got, " ") != want {
		t.Errorf("listed %q, want %q", strings.Join(got, " "), want)
	}
	if len(notes) != 2 || !strings.Contains(notes[0], "README.md: skipped") || !strings.Contains(notes[1], "sub: skipped: a directory") {
		t.Errorf("notes: %q", notes)
	}
}
