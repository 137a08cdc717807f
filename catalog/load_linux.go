package catalog

import (
	"fmt"
	"io/fs"
	"path/filepath"
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
	var fd int
	var err error
	for {
		if d.fd >= 0 {
			fd, err = syscall.Openat(d.fd, filepath.Base(path), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		} else {
			fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		}
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, &fs.PathError{Op: "open", Path: path, Err: err})
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
