package assets

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// errNotRegular reports a path that resolves to something other than a
// regular file: a directory, device, FIFO or socket.
var errNotRegular = errors.New("not a regular file")

// errReplaced reports a file that was swapped between the check and the open.
var errReplaced = errors.New("file replaced while opening")

// open opens name inside the root and returns it with its FileInfo. Only
// regular files are opened: the type is checked before opening, because
// opening a FIFO would block the request until a writer appears, and checked
// again on the open file, so a swap in between is caught.
func (h *Handler) open(name string) (*os.File, os.FileInfo, error) {
	pre, err := h.root.Stat(name)
	if err != nil {
		return nil, nil, err
	}
	if !pre.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s: %w (mode %s)", name, errNotRegular, pre.Mode().Type())
	}
	f, err := h.root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() || !os.SameFile(pre, fi) {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", name, errReplaced)
	}
	return f, fi, nil
}

// isServerFault reports errors that are the server's fault rather than the
// client's: exhausted descriptors or memory, and I/O errors from the disk.
func isServerFault(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM, syscall.EIO} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
