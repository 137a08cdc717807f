//go:build !linux

package catalog

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// readCatalogFile reads one catalog file, following symlinks (users link
// templates), refusing directories and files over MaxFileSize. It opens
// the file once and checks the open file, one path lookup per file: a
// catalog of 100,000 groups is 100,000 files.
func readCatalogFile(path, sub string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if info.IsDir() {
		return nil, fmt.Errorf("%s: is a directory; %s/ holds files only", path, sub)
	}
	if info.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d allowed", path, info.Size(), MaxFileSize)
	}
	data := make([]byte, info.Size())
	n, err := io.ReadFull(f, data)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data[:n], nil
}

// catalogDir stands for a directory whose files read reads; elsewhere than
// on Linux, by their whole path.
type catalogDir struct{}

func openCatalogDir(root string) catalogDir { return catalogDir{} }

func (catalogDir) close() {}

// prefetch does nothing here: the files are read as they are decoded.
func (catalogDir) prefetch([]catalogFile) {}

func (catalogDir) read(path, sub string) ([]byte, error) { return readCatalogFile(path, sub) }

// readScratch is read: buf is not used here.
func (d catalogDir) readScratch(path, sub string, buf []byte) ([]byte, error) {
	return d.read(path, sub)
}

// ringReader reads files a batch at a time on Linux; there is none here.
type ringReader struct{}

const ringBatchFiles = 1

func (catalogDir) newRingReader() *ringReader                             { return nil }
func (*ringReader) close()                                                {}
func (*ringReader) readBatch([]catalogFile, func(int, []byte, bool)) bool { return false }

// readDirNames returns the names in the directory root, sorted, and
// whether each is a directory (os.ReadDir's entry type).
func readDirNames(root string) ([]dirName, error) { return readDirNamesOS(root) }
