package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/provisiond/provisiond/profiles"
)

// WriteBack writes into dir, a directory LoadDir reads, the objects that
// differ between prev and next (Diff), so that LoadDir(dir) gives next
// again: a created or updated object's file is written, a deleted one's is
// removed. It is how a change made through the gRPC or admin API reaches
// the --catalog directory, which stays the source of truth.
//
// Files are named as matchbox names them (profiles/<id>.json,
// groups/<id>.json, ignition/<name>, ...), except that an object loaded
// from a file of another name (matchbox's groups/install.json holding
// "id": "stage-0") is written back to that file. Each file is written to
// a hidden temporary file in its directory, synced and renamed over the
// old one, so a reader (a reload, git) sees the old file or the new one,
// never half of one. It returns the references written and removed; on
// error the files written so far stay written.
func WriteBack(dir string, prev, next *Catalog) (Changes, error) {
	ch := Diff(prev, next)
	if prev == nil {
		prev = New()
	}
	// The files other objects were loaded from, which a new object must
	// not overwrite (groups/install.json holding group "stage-0", then a
	// group "install" created).
	deleted := map[string]bool{}
	for _, ref := range ch.Deleted {
		deleted[ref] = true
	}
	owner := map[string]string{}
	// (Groups read from their usual file are not named: no other
	// object's usual file is theirs.)
	for ref, src := range next.Sources.Named() {
		if !deleted[ref] {
			owner[filepath.Clean(src)] = ref
		}
	}
	// Every name is checked before the first file is written.
	type file struct {
		ref, path string
		data      []byte
	}
	var files []file
	written := map[string]bool{}
	for _, ref := range append(append([]string(nil), ch.Created...), ch.Updated...) {
		data, err := next.fileContent(ref)
		if err != nil {
			return ch, err
		}
		path, err := filePath(dir, ref, sourceOf(next, ref))
		if err != nil {
			return ch, err
		}
		if o, ok := owner[path]; ok && o != ref {
			return ch, fmt.Errorf("%s: its file %s holds %s: rename one of them", ref, path, o)
		}
		files = append(files, file{ref, path, data})
		written[path] = true
	}
	var gone []string
	for _, ref := range ch.Deleted {
		path, err := filePath(dir, ref, sourceOf(prev, ref))
		if err != nil {
			return ch, err
		}
		// A deleted object's file that now holds a new object, or that
		// another object was loaded from, stays.
		if o, ok := owner[path]; !written[path] && (!ok || o == ref) {
			gone = append(gone, path)
		}
	}
	for _, f := range files {
		if err := writeFileAtomic(f.path, f.data); err != nil {
			return ch, fmt.Errorf("writing %s: %w", f.ref, err)
		}
	}
	for _, path := range gone {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return ch, fmt.Errorf("removing %s: %w", path, err)
		}
		if err := syncDir(filepath.Dir(path)); err != nil {
			return ch, fmt.Errorf("removing %s: %w", path, err)
		}
	}
	return ch, nil
}

// sourceOf is the file ref was read from in c, "" when none.
func sourceOf(c *Catalog, ref string) string {
	p, _ := c.Sources.Get(ref)
	return p
}

// fileContent is the file that LoadDir reads back as the object ref.
func (c *Catalog) fileContent(ref string) ([]byte, error) {
	sub, name, _ := strings.Cut(ref, "/")
	var v any
	switch sub {
	case "profiles":
		v = c.Profiles[name]
	case "groups":
		// The normalized selector, which matchbox also matches on, and
		// the selector as written (selector_as_written, when it differs),
		// which matchbox ignores and provisiond's GroupGet returns.
		v = c.Groups[name]
	case "pools":
		v = c.Pools[name]
	case "machines":
		v = c.Machines[name]
	default:
		text, ok := c.Templates[profiles.Kind(sub)][name]
		if !ok {
			return nil, fmt.Errorf("%s: no such object", ref)
		}
		return []byte(text), nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	return append(b, '\n'), nil
}

// filePath is where the object ref lives in dir: source when that is a
// file directly in the object's subdirectory of dir, else the name
// matchbox gives it. A name that is not a plain file name is refused.
func filePath(dir, ref, source string) (string, error) {
	sub, name, _ := strings.Cut(ref, "/")
	if name == "" || name == "." || name == ".." || strings.HasPrefix(name, ".") || strings.ContainsAny(name, `/\`+"\x00") || strings.HasSuffix(name, "~") {
		return "", fmt.Errorf("%s: %q cannot be a file name in %s/ (it would not be read back)", ref, name, sub)
	}
	subdir := filepath.Join(dir, sub)
	if source != "" && filepath.Dir(filepath.Clean(source)) == filepath.Clean(subdir) {
		return filepath.Clean(source), nil
	}
	switch sub {
	case "profiles", "groups", "pools", "machines":
		name += ".json"
	}
	return filepath.Join(subdir, name), nil
}

// writeFileAtomic replaces path with data: a temporary file in the same
// directory (hidden, so a load running meanwhile skips it), synced, then
// renamed over path, and the directory synced.
func writeFileAtomic(path string, data []byte) error {
	d := filepath.Dir(path)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(d, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(d)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
