package catalog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
)

// readCatalogFile reads one catalog file, following symlinks (users link
// templates), refusing directories and files over MaxFileSize. It opens
// the file once and checks the open file, one path lookup per file: a
// catalog of 100,000 groups is 100,000 files. On Linux it uses the system
// calls directly: an *os.File registers with the poller and gets a
// finalizer, a tenth of a second at 100,000 files for a descriptor that is
// read once and closed. Errors are those os.Open, Stat and Read give.
func readCatalogFile(path, sub string) ([]byte, error) {
	return catalogDir{fd: -1}.read(path, sub)
}

// catalogDir is an open directory whose files read opens by their base
// name (openat), so that the kernel does not walk the whole path again
// for each of 100,000 files; fd is -1 when the directory did not open,
// and read opens the whole path.
type catalogDir struct{ fd int }

func openCatalogDir(root string) catalogDir {
	fd, err := syscall.Open(root, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return catalogDir{fd: -1}
	}
	return catalogDir{fd: fd}
}

func (d catalogDir) close() {
	if d.fd >= 0 {
		syscall.Close(d.fd)
	}
}

// read is readCatalogFile of path, a file directly in d.
func (d catalogDir) read(path, sub string) ([]byte, error) {
	fd, err := d.open(path)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, &fs.PathError{Op: "stat", Path: path, Err: err})
	}
	if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		return nil, fmt.Errorf("%s: is a directory; %s/ holds files only", path, sub)
	}
	if st.Size > MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d allowed", path, st.Size, MaxFileSize)
	}
	// Read what the file holds, at most its size at the Stat (as
	// io.ReadFull of a buffer of that size did): a file that shrank
	// meanwhile gives what is left.
	data := make([]byte, st.Size)
	n := 0
	for n < len(data) {
		m, err := syscall.Read(fd, data[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, &fs.PathError{Op: "read", Path: path, Err: err})
		}
		if m == 0 {
			break
		}
		n += m
	}
	return data[:n], nil
}

// readScratch is read of path into buf (nil: a new buffer), for a decoder
// that keeps nothing of the bytes: the caller passes back what it
// returned, and one buffer serves every file a goroutine reads. It reads
// to the end of the file instead of asking its size first (as many
// system calls: a read that finds the end in place of an fstat); only a
// file over MaxFileSize is asked its size, for the message. Errors are
// read's.
func (d catalogDir) readScratch(path, sub string, buf []byte) ([]byte, error) {
	fd, err := d.open(path)
	if err != nil {
		return buf[:0], err
	}
	defer syscall.Close(fd)
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, make([]byte, max(512, cap(buf)))...)[:len(buf)]
		}
		m, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EISDIR {
			return buf[:0], fmt.Errorf("%s: is a directory; %s/ holds files only", path, sub)
		}
		if err != nil {
			return buf[:0], fmt.Errorf("%s: %w", path, &fs.PathError{Op: "read", Path: path, Err: err})
		}
		if m <= 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+m]
		if len(buf) > MaxFileSize {
			size := int64(len(buf))
			var st syscall.Stat_t
			if syscall.Fstat(fd, &st) == nil && st.Size > size {
				size = st.Size
			}
			return buf[:0], fmt.Errorf("%s: %d bytes, more than the %d allowed", path, size, MaxFileSize)
		}
	}
}

// open opens path, a file directly in d, for reading.
func (d catalogDir) open(path string) (int, error) {
	for {
		fd, err := d.openat(path, syscall.O_RDONLY|syscall.O_CLOEXEC)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return -1, fmt.Errorf("%s: %w", path, &fs.PathError{Op: "open", Path: path, Err: err})
		}
		return fd, nil
	}
}

// noAtimeRefused is set once an open with O_NOATIME was refused (EPERM:
// the file is not the process's own and it lacks CAP_FOWNER); opens then
// no longer ask for it.
var noAtimeRefused atomic.Bool

// openFile is the open system call of openat (a test's seam).
var openFile = func(dirfd int, path string, flags int) (int, error) {
	if dirfd < 0 {
		return syscall.Open(path, flags, 0)
	}
	return syscall.Openat(dirfd, filepath.Base(path), flags, 0)
}

// openat opens path, a file directly in d (by its base name when d is
// open, else by the whole path), with flags and O_NOATIME: reading a
// file whose access time is not newer than its last change (a catalog
// just written, copied or checked out) makes the kernel write the
// access time to the file's inode, which is a third of reading 100,000
// such files (docs/performance.md, "Start-up, tenth pass"). Nothing of
// the catalog's reads atime. Where O_NOATIME is refused (a file the
// process does not own) it opens without, and stops asking.
func (d catalogDir) openat(path string, flags int) (int, error) {
	if !noAtimeRefused.Load() {
		fd, err := openFile(d.fd, path, flags|syscall.O_NOATIME)
		if err != syscall.EPERM {
			return fd, err
		}
		noAtimeRefused.Store(true)
	}
	return openFile(d.fd, path, flags)
}

// readDirNames returns the names in the directory root, sorted, whether
// each is a directory, as os.ReadDir says it (the entry's own type: a
// symlink to a directory is not one), and each one's inode number
// (readOrder). It reads the entries with getdents in batches of 256 KiB
// and keeps only the names: os.ReadDir
// makes an object per entry and sorts them through an interface, a
// second of a start-up at a million files. Errors are os.ReadDir's
// (os.ReadDir is asked again for them).
func readDirNames(root string) ([]dirName, error) {
	fd, err := syscall.Open(root, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return readDirNamesOS(root)
	}
	defer syscall.Close(fd)
	var out []dirName
	buf := make([]byte, 256<<10)
	for {
		n, err := syscall.Getdents(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return readDirNamesOS(root)
		}
		if n <= 0 {
			break
		}
		for b := buf[:n]; len(b) >= 19; {
			// struct linux_dirent64: ino u64, off s64, reclen u16,
			// type u8, name NUL-terminated; in the machine's byte
			// order.
			ino := binary.NativeEndian.Uint64(b[0:8])
			reclen := int(binary.NativeEndian.Uint16(b[16:18]))
			if reclen < 19 || reclen > len(b) {
				return readDirNamesOS(root)
			}
			typ, name := b[18], b[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			b = b[reclen:]
			if s := string(name); s != "." && s != ".." {
				if typ == syscall.DT_UNKNOWN {
					// A file system that does not say: os.ReadDir asks
					// each entry.
					return readDirNamesOS(root)
				}
				dir := typ == syscall.DT_DIR
				out = append(out, dirName{name: s, dir: dir, ino: ino})
			}
		}
	}
	slices.SortFunc(out, func(a, b dirName) int { return strings.Compare(a.name, b.name) })
	return out, nil
}
