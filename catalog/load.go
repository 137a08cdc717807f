package catalog

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
)

// MaxFileSize bounds one catalog file. Templates that inline whole files
// stay far below it.
const MaxFileSize = 8 << 20

// LoadDir reads a matchbox-layout directory (profiles/, groups/, ignition/,
// cloud/, generic/, and provisiond's pools/ and machines/). Missing
// subdirectories are empty, but a directory with none of profiles/,
// groups/, machines/ and pools/ is refused (ErrNotCatalogDir). Every error names the file, and for JSON syntax
// errors the line and column. The result is not validated: call Validate.
func LoadDir(dir string) (*Catalog, error) {
	return LoadDirOver(dir, nil)
}

// LoadDirOver is LoadDir of a directory that is to replace prev, the
// catalog being served (nil: none): a group of the directory equal to
// prev's group of the same id (field by field, equalGroup) is prev's
// object, and the one decoded from the file is dropped at once. A restart
// or a SIGHUP with an unchanged directory thus holds one copy of 100,000
// groups, shared by the served snapshot and the one being built, instead
// of two. prev's groups are shared, never modified (as Catalogs.Update
// shares them).
func LoadDirOver(dir string, prev *Catalog) (*Catalog, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("catalog: %s is not a directory", dir)
	}
	if err := checkLayout(dir); err != nil {
		return nil, err
	}
	c := New()
	err = eachDecoded(dir, "profiles", ".json", &c.Notes, false, nil, func(path, _ string, data []byte) (*profiles.Profile, error) {
		p, err := profiles.Decode(data)
		if err != nil {
			return nil, jsonErr(path, data, err)
		}
		return p, nil
	}, func(path, name string, p *profiles.Profile) error {
		// matchbox finds a profile by its file name (profiles/<id>.json),
		// whatever its "id" says: so does provisiond.
		if p.ID != name {
			c.Notes = append(c.Notes, fmt.Sprintf("%s: id %q differs from the file name; groups find this profile as %q, as in matchbox", path, p.ID, name))
			p.ID = name
		}
		c.Profiles[p.ID] = p
		c.Sources.Set("profiles/"+p.ID, path)
		return nil
	})
	if err == nil {
		// groups.Decode keeps nothing of the bytes (it copies the strings
		// it keeps), nor does jsonErr: scratch.
		// A group read from its usual file (groups/<id>.json) is
		// recorded by its id alone (Sources).
		groupDir := dirPrefix(filepath.Join(dir, "groups"))
		var usual []string
		err = eachDecoded(dir, "groups", ".json", &c.Notes, true, func(n int) {
			// The map takes n groups at once: at a million groups, growing
			// it one rehash at a time was a second of CPU.
			c.Groups = make(map[string]*groups.Group, n)
			usual = make([]string, 0, n)
		}, func(path, name string, data []byte) (*groups.Group, error) {
			// matchbox selects groups without reading their "id" (its docs
			// show group files without one): such a group takes its file
			// name. A group that decodes with its own id needs no second
			// look (one decode per file, not two, for the usual file).
			g, err := groups.Decode(data)
			if err == nil && g.ID != "" {
				return prev.same(g), nil
			}
			data = withDefaultID(data, name)
			g, err = groups.Decode(data)
			if err != nil {
				return nil, jsonErr(path, data, err)
			}
			return prev.same(g), nil
		}, func(path, _ string, g *groups.Group) error {
			// matchbox lists every group file and uses its "id", which need
			// not be the file name (its own examples have groups/install.json
			// with "id": "stage-0"): so does provisiond.
			// c.Groups holds the groups merged so far, each with its
			// source: a group id met twice is found there.
			if _, dup := c.Groups[g.ID]; dup {
				first, ok := c.Sources.Get("groups/" + g.ID)
				if !ok {
					first = groupDir + g.ID + ".json"
				}
				return fmt.Errorf("%s and %s: both have group id %q", first, path, g.ID)
			}
			c.Groups[g.ID] = g
			if name, ok := strings.CutPrefix(path, groupDir); ok && strings.TrimSuffix(name, ".json") == g.ID {
				usual = append(usual, g.ID)
			} else {
				c.Sources.Set("groups/"+g.ID, path)
			}
			return nil
		})
		c.Sources.setUsualGroups(groupDir, usual)
	}
	if err == nil {
		err = eachFile(dir, "pools", ".json", &c.Notes, func(path, name string, data []byte) error {
			p, err := ipam.Decode(data)
			if err != nil {
				return jsonErr(path, data, err)
			}
			if p.Name != name {
				return fmt.Errorf("%s: name %q does not match the file name %q", path, p.Name, name)
			}
			c.Pools[p.Name] = p
			c.Sources.Set("pools/"+p.Name, path)
			return nil
		})
	}
	if err == nil {
		err = eachFile(dir, "machines", ".json", &c.Notes, func(path, name string, data []byte) error {
			m, err := DecodeMachine(data)
			if err != nil {
				return jsonErr(path, data, err)
			}
			if m.Name != name {
				return fmt.Errorf("%s: name %q does not match the file name %q", path, m.Name, name)
			}
			c.Machines[m.Name] = m
			c.Sources.Set("machines/"+m.Name, path)
			return nil
		})
	}
	for _, kind := range profiles.Kinds {
		if err != nil {
			break
		}
		err = eachFile(dir, string(kind), "", &c.Notes, func(path, name string, data []byte) error {
			c.Templates[kind][name] = string(data)
			c.Sources.Set(string(kind)+"/"+name, path)
			return nil
		})
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// same returns c's group of g's id when it equals g, else g (also when c
// is nil).
func (c *Catalog) same(g *groups.Group) *groups.Group {
	if c == nil {
		return g
	}
	if p := c.Groups[g.ID]; p != nil && equalGroup(p, g) {
		return p
	}
	return g
}

// matchboxDirs are the subdirectories matchbox reads. As matchbox does, a
// loader skips a subdirectory in them (matchbox's examples/groups/ holds
// one folder per example), and a file without the .json extension in
// profiles/ and groups/ (a README.md), each with a warning in Notes.
// provisiond's own pools/ and machines/ hold nothing else.
var matchboxDirs = map[string]bool{"profiles": true, "groups": true, "ignition": true, "cloud": true, "generic": true}

// eachFile calls fn for each regular file directly in dir/sub whose name
// ends in ext (ext is stripped from name). Hidden files and editor backups
// are skipped; so are, with a note, subdirectories and files without ext in
// matchbox's directories (see matchboxDirs). Elsewhere they are an error.
func eachFile(dir, sub, ext string, notes *[]string, fn func(path, name string, data []byte) error) error {
	files, err := listFiles(dir, sub, ext, notes)
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := readCatalogFile(f.path, sub)
		if err != nil {
			return err
		}
		if err := fn(f.path, f.name, data); err != nil {
			return err
		}
	}
	return nil
}

// catalogFile is one file eachFile and eachDecoded visit: its path, its
// name without the extension, and its inode number as the directory
// listing gives it (0: not given; see readOrder).
type catalogFile struct {
	path, name string
	ino        uint64
}

// eachDecoded is eachFile for directories of many files (100,000 group
// files are one catalog): it reads and decodes the files on up to
// GOMAXPROCS goroutines, then merges the decoded values one at a time in
// directory order. The outcome is eachFile's: merge sees the files in the
// same order, and the error returned is the one of the first file (in
// that order) that fails to read, decode or merge.
//
// Files not in the page cache (a first start, or one after the cache was
// dropped) are first read into it in inode order (prefetch): the reads
// and decodes that follow are those of files in memory.
//
// reserve (nil: none) is called with the number of files before the first
// merge, to size what merge fills. With scratch, decode keeps nothing of
// the bytes it is given (they are valid during the call only): each
// goroutine reads every file into one buffer instead of a new one per
// file (at a million group files, a third of a gigabyte less for the
// garbage collector).
func eachDecoded[T any](dir, sub, ext string, notes *[]string, scratch bool, reserve func(n int), decode func(path, name string, data []byte) (T, error), merge func(path, name string, v T) error) error {
	files, err := listFiles(dir, sub, ext, notes)
	if err != nil {
		return err
	}
	type decoded struct {
		v   T
		err error
	}
	out := make([]decoded, len(files))
	d := openCatalogDir(filepath.Join(dir, sub))
	defer d.close()
	d.prefetch(files)
	one := func(i int, buf *[]byte) {
		var data []byte
		var err error
		if scratch {
			*buf, err = d.readScratch(files[i].path, sub, *buf)
			data = *buf
		} else {
			data, err = d.read(files[i].path, sub)
		}
		if err == nil {
			out[i].v, err = decode(files[i].path, files[i].name, data)
		}
		out[i].err = err
	}
	// With scratch, the files are read a batch at a time through a ring
	// where the kernel has one (ringReader), each batch's decoded as it
	// is read; a file the ring did not read whole is read by one.
	batch := 1
	if scratch && len(files) >= ringMinFiles {
		batch = ringBatchFiles
	}
	// run reads and decodes files[lo:hi] and reports whether one failed.
	run := func(lo, hi int, rr **ringReader, buf *[]byte) (failed bool) {
		if *rr != nil {
			more := (*rr).readBatch(files[lo:hi], func(k int, data []byte, ok bool) {
				i := lo + k
				if failed {
					return // nothing after the first error is merged
				}
				if ok {
					out[i].v, out[i].err = decode(files[i].path, files[i].name, data)
				} else {
					one(i, buf)
				}
				failed = out[i].err != nil
			})
			if !more {
				(*rr).close()
				*rr = nil
			}
			return failed
		}
		for i := lo; i < hi; i++ {
			if one(i, buf); out[i].err != nil {
				return true
			}
		}
		return false
	}
	newReader := func() *ringReader {
		if batch == 1 {
			return nil
		}
		return d.newRingReader()
	}
	workers := min(runtime.GOMAXPROCS(0), len(files)/64)
	if workers <= 1 {
		var buf []byte
		rr := newReader()
		for lo := 0; lo < len(files); lo += batch {
			if run(lo, min(lo+batch, len(files)), &rr, &buf) {
				break
			}
		}
		rr.close()
	} else {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var buf []byte
				rr := newReader()
				defer func() { rr.close() }()
				for {
					lo := int(next.Add(int64(batch)) - int64(batch))
					if lo >= len(files) {
						return
					}
					if run(lo, min(lo+batch, len(files)), &rr, &buf) {
						// Files after this batch need not be read.
						// Every file before it has been taken by a
						// worker and is finished before wg.Wait
						// returns: one of them may fail too, and comes
						// first.
						next.Store(int64(len(files)))
					}
				}
			}()
		}
		wg.Wait()
	}
	if reserve != nil && len(files) > 0 {
		reserve(len(files))
	}
	for i, f := range files {
		if out[i].err != nil {
			return out[i].err
		}
		if err := merge(f.path, f.name, out[i].v); err != nil {
			return err
		}
		var zero T
		out[i].v = zero // merged: let it go with the map that holds it
	}
	return nil
}

// ringMinFiles is the fewest files eachDecoded reads through a ring:
// below it, setting one up costs about what it saves.
const ringMinFiles = 64

// readOrder returns the indexes of files in the order of their inode
// numbers (prefetch's order), or nil when the listing did not give them
// all. On ext4 a directory lists its files in the order of a hash of
// their names, and sorted by name they are no nearer to the order they
// lie on disk in; inodes are numbered, and the blocks of small files
// allocated, in the order the files were made. Read in inode order, the
// inodes are read a block of them at a time, and the data blocks of
// neighbouring files make one read of the disk.
func readOrder(files []catalogFile) []int32 {
	if len(files) == 0 || len(files) > math.MaxInt32 {
		return nil
	}
	keys := make([]inoIndex, len(files))
	for i, f := range files {
		if f.ino == 0 {
			return nil
		}
		keys[i] = inoIndex{f.ino, int32(i)}
	}
	slices.SortFunc(keys, func(a, b inoIndex) int {
		return cmp.Or(cmp.Compare(a.ino, b.ino), cmp.Compare(a.i, b.i))
	})
	order := make([]int32, len(keys))
	for k, e := range keys {
		order[k] = e.i
	}
	return order
}

// inoIndex is a file's inode number and its index in the listing.
type inoIndex struct {
	ino uint64
	i   int32
}

// listFiles returns the files eachFile visits in dir/sub, in directory
// order, adding a note for each one it skips.
func listFiles(dir, sub, ext string, notes *[]string) ([]catalogFile, error) {
	root := filepath.Join(dir, sub)
	entries, err := readDirNames(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	prefix := dirPrefix(root)
	files := make([]catalogFile, 0, len(entries))
	for _, e := range entries {
		name := e.name
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
			continue
		}
		path := prefix + name
		if e.dir {
			if matchboxDirs[sub] {
				*notes = append(*notes, fmt.Sprintf("%s: skipped: a directory (%s/ holds files only; matchbox skips it too)", path, sub))
				continue
			}
			return nil, fmt.Errorf("%s: is a directory; %s/ holds files only", path, sub)
		}
		if ext != "" && !strings.HasSuffix(name, ext) {
			if matchboxDirs[sub] {
				*notes = append(*notes, fmt.Sprintf("%s: skipped: not a %s file (%s/ holds <id>%s files; matchbox skips it too)", path, ext, sub, ext))
				continue
			}
			return nil, fmt.Errorf("%s: not a %s file; %s/ holds <id>%s files only", path, ext, sub, ext)
		}
		files = append(files, catalogFile{path, strings.TrimSuffix(name, ext), e.ino})
	}
	return files, nil
}

// dirPrefix is what a name is appended to for its path in root: root is
// clean and a name is one element that is not "." or ".." (those are
// hidden), so root+"/"+name is filepath.Join(root, name) without its
// second look at a million paths.
func dirPrefix(root string) string {
	if strings.HasSuffix(root, string(filepath.Separator)) {
		return root
	}
	return root + string(filepath.Separator)
}

// dirName is an entry of a directory listing: its name, whether it is a
// directory itself (a symlink to one is not), and its inode number (0:
// not given).
type dirName struct {
	name string
	dir  bool
	ino  uint64
}

// readDirNamesOS is readDirNames through os.ReadDir.
func readDirNamesOS(root string) ([]dirName, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	out := make([]dirName, len(entries))
	for i, e := range entries {
		out[i] = dirName{name: e.Name(), dir: e.IsDir()}
	}
	return out, nil
}

// withDefaultID returns data with "id": id added when data is a JSON
// object without an "id" key; anything else is returned as it is, for the
// decoder to judge. The key is added on the line of the opening brace,
// so error lines stay right.
func withDefaultID(data []byte, id string) []byte {
	var head map[string]json.RawMessage
	if json.Unmarshal(data, &head) != nil {
		return data
	}
	if _, ok := head["id"]; ok {
		return data
	}
	i := bytes.IndexByte(data, '{')
	quoted, _ := json.Marshal(id)
	field := append([]byte(`"id":`), quoted...)
	if len(head) > 0 {
		field = append(field, ',')
	}
	out := make([]byte, 0, len(data)+len(field))
	out = append(out, data[:i+1]...)
	out = append(out, field...)
	return append(out, data[i+1:]...)
}

// jsonErr prefixes err with the file, and with line:column for JSON syntax
// and type errors: the column of the byte at fault. encoding/json's Offset
// counts the bytes read, the one at fault included, so that byte is at
// Offset-1 (for a type error, the last byte of the value read); at the end
// of the input ("unexpected end") the place is just past the last byte.
func jsonErr(path string, data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case errors.As(err, &syn):
		off = syn.Offset
	case errors.As(err, &typ):
		off = typ.Offset
	case errors.Is(err, io.ErrUnexpectedEOF): // a json.Decoder's "unexpected end"
		off = int64(len(data))
	}
	if off > 0 && off <= int64(len(data)) && (typ != nil || syn != nil && !strings.HasPrefix(syn.Error(), "unexpected end")) {
		off--
	}
	if off >= 0 {
		line, col := lineCol(data, off)
		return fmt.Errorf("%s:%d:%d: %w", path, line, col, err)
	}
	return fmt.Errorf("%s: %w", path, err)
}

func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col := 1, 1
	for _, b := range data[:off] {
		if b == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
