package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
)

// ErrDamaged is returned (wrapped) when the database file exists but cannot
// be trusted: empty, truncated, garbled, or its lease records disagree.
// Every such error names the file and says what to do; provisiond never
// starts over an existing file it cannot read, since an empty store would
// hand addresses that machines still hold to other machines.
var ErrDamaged = errors.New("database damaged")

// remedy is what an operator does about a damaged file.
const remedy = "restore a backup (docs/backup.md), or, to start with an empty store on purpose, delete the file; " +
	"`provisiond db check --data-dir DIR` reports what is wrong"

// damaged builds an ErrDamaged error naming the file, its size and what to
// do.
func damaged(path string, size int64, format string, args ...any) error {
	return &damageError{path: path, size: size, reason: fmt.Sprintf(format, args...)}
}

// damageError is an ErrDamaged error: which file, its size and what is
// wrong with it, kept apart so that db check, which names the file on
// every line and is itself what the remedy points to, can print the
// reason alone (Check).
type damageError struct {
	path   string
	size   int64
	reason string
}

func (e *damageError) Error() string {
	return fmt.Sprintf("%v: %s (%d bytes): %s; %s", ErrDamaged, e.path, e.size, e.reason, remedy)
}

func (e *damageError) Unwrap() error { return ErrDamaged }

// bbolt's meta page: a 16-byte page header, then magic, version, page size,
// flags (4 bytes each), the root bucket (root page, sequence), the freelist
// page, the high-water page id, the transaction id and an FNV-64a checksum
// of the fields before it (8 bytes each), little endian on every platform
// provisiond builds for.
const (
	boltMagic     = 0xED0CDAED
	boltVersion   = 2
	metaOff       = 16
	metaSumLen    = 56
	metaPageBytes = 4096 // the smallest page size bbolt writes
)

type meta struct {
	pageSize uint32
	pgid     uint64 // high-water mark: pages 0..pgid-1 are in the file
	txid     uint64
}

// parseMeta decodes and checks one meta page; ok is false when it is not a
// valid one.
func parseMeta(b []byte) (meta, bool) {
	if len(b) < metaOff+metaSumLen+8 {
		return meta{}, false
	}
	m := b[metaOff:]
	le := binary.LittleEndian
	if le.Uint32(m[0:]) != boltMagic || le.Uint32(m[4:]) != boltVersion {
		return meta{}, false
	}
	h := fnv.New64a()
	h.Write(m[:metaSumLen])
	if h.Sum64() != le.Uint64(m[metaSumLen:]) {
		return meta{}, false
	}
	return meta{pageSize: le.Uint32(m[8:]), pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}, true
}

// preflight checks an existing database file before bbolt maps it. A
// missing file is a first start (nil). An empty file, a file whose meta
// pages are both invalid, or one shorter than its meta page says (bbolt
// would map past the end and die of SIGBUS on the first read there) is
// refused with ErrDamaged.
func preflight(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	size := st.Size()
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", path)
	}
	if size == 0 {
		return damaged(path, size, "the file is empty (a restore cut short, or the file was truncated); provisiond does not take an empty file for a new install")
	}
	first := make([]byte, metaPageBytes)
	n, err := f.ReadAt(first, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", path, err)
	}
	m0, ok0 := parseMeta(first[:n])
	var m1 meta
	ok1 := false
	// The second meta page is one page in; its size comes from a valid
	// first meta page, else try the usual sizes.
	sizes := []uint32{4096, 8192, 16384, 65536}
	if ok0 {
		sizes = []uint32{m0.pageSize}
	}
	for _, ps := range sizes {
		second := make([]byte, metaPageBytes)
		n, err := f.ReadAt(second, int64(ps))
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: %w", path, err)
		}
		if m1, ok1 = parseMeta(second[:n]); ok1 {
			break
		}
	}
	// bbolt writes the two meta pages in turn and would fall back to the
	// older one when the newer is invalid: that silently drops the last
	// transaction, leases the API acknowledged included. The checked part
	// of a meta page is its first 80 bytes, inside one disk sector, which
	// a crash does not tear; an invalid one is damage, so refuse.
	var m meta
	switch {
	case ok0 && ok1:
		m = m0
		if m1.txid > m0.txid {
			m = m1
		}
	case ok0:
		return damaged(path, size, "its second header (meta) page is invalid; opening it would fall back to an older transaction and lose the last writes")
	case ok1:
		return damaged(path, size, "its first header (meta) page is invalid; opening it would fall back to an older transaction and lose the last writes")
	default:
		return damaged(path, size, "neither of its two header (meta) pages is valid: not a provisiond database, or its first pages were overwritten")
	}
	if need := m.used(); size < need {
		return damaged(path, size, "the file is truncated: its header says it holds %d pages of %d bytes (%d bytes)", m.pgid, m.pageSize, need)
	}
	return nil
}

// used is the number of bytes of the file in use: pages below the
// high-water mark. bbolt grows the file in large steps, so the file is
// usually longer.
func (m meta) used() int64 { return int64(m.pgid) * int64(m.pageSize) }

// guard runs fn with memory faults turned into panics, and turns any panic
// (a fault on a page mapped past the end of a file that shrank, one of
// bbolt's page assertions on a garbled page) into an ErrDamaged error
// naming the file. SetPanicOnFault is per goroutine: fn must not hand the
// reading to another goroutine.
func guard(path string, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			var size int64 = -1
			if st, serr := os.Stat(path); serr == nil {
				size = st.Size()
			}
			err = damaged(path, size, "reading it failed: %v", r)
		}
	}()
	return fn()
}
