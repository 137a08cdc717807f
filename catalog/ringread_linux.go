package catalog

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// ringReads is false to read every file with its own system calls (a
// test's seam, and what a kernel that refuses the ring gets).
var ringReads = true

// ringRefused is set once a kernel has refused an open into a fixed-file
// slot or a read from one (before linux 5.15, or 5.18 for a read linked
// to the open): later loads do not ask again.
var ringRefused atomic.Bool

// ringBatchFiles is how many files readBatch opens, reads and closes with
// one system call; ringFileBuf is the most of a file it reads: a bigger
// file (a group file is some 400 bytes) is read again by readScratch.
const (
	ringBatchFiles = 64
	ringFileBuf    = 16 << 10
	ringNameMax    = 256 // NAME_MAX and its NUL
)

// ringReader reads catalog files directly in a directory through an
// io_uring, a batch of ringBatchFiles at a time. For each file it queues
// four entries: open into a fixed-file slot, read up to ringFileBuf,
// read one byte more (0: the first read had the whole file), close; and
// submits and waits for a whole batch with one io_uring_enter. Reading a
// file with its own system calls is four of them (openat, read, the read
// that finds the end, close), and on a virtual machine each system call
// is an exit to the hypervisor: at 100,000 group files they were a third
// of a start-up (docs/performance.md, "Start-up, eleventh pass").
//
// Anything but a clean read of the whole file (an error, a file bigger
// than the buffer, a kernel that refuses the fixed-file operations) is
// left to readScratch, whose result, and error, are then the file's: the
// ring is a faster way to the same bytes, never a different outcome.
// One goroutine uses a ringReader.
type ringReader struct {
	d catalogDir
	r *uring
	// mem is outside the Go heap: should the ring fail with entries in
	// flight, they may write to it after the reader is gone. It holds
	// each slot's name, probe byte and buffer.
	mem    []byte
	broken bool // the ring failed: mem stays mapped, the reader is not used
}

// Offsets in mem of slot s's name, probe byte and buffer.
func nameAt(s int) int  { return s * ringNameMax }
func probeAt(s int) int { return ringBatchFiles*ringNameMax + s }
func bufAt(s int) int   { return ringBatchFiles*(ringNameMax+1) + s*ringFileBuf }

// newRingReader returns a reader of files in d, or nil where there is no
// ring to read them with (d not open, io_uring refused or disabled).
func (d catalogDir) newRingReader() *ringReader {
	if d.fd < 0 || !ringReads || ringRefused.Load() {
		return nil
	}
	r, err := newURing(4 * ringBatchFiles)
	if err != nil {
		// Out of descriptors or memory is this moment's; anything else
		// (ENOSYS, EPERM from seccomp, io_uring_disabled) is for good.
		if err != unix.EMFILE && err != unix.ENFILE && err != unix.ENOMEM && err != unix.EAGAIN {
			ringRefused.Store(true)
		}
		return nil
	}
	if r.registerSparse(ringBatchFiles) != nil {
		r.close()
		ringRefused.Store(true)
		return nil
	}
	mem, err := unix.Mmap(-1, 0, bufAt(ringBatchFiles), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		r.close()
		return nil
	}
	return &ringReader{d: d, r: r, mem: mem}
}

func (rr *ringReader) close() {
	if rr == nil {
		return
	}
	rr.r.close()
	if !rr.broken {
		unix.Munmap(rr.mem)
	}
}

// The operation a completion's tag names (tag: slot<<2 | op).
const (
	opOpen = iota
	opRead
	opProbe
	opClose
)

// readBatch reads files (at most ringBatchFiles) and calls fn with each
// one's index in files and its bytes, valid during the call only; a file
// it did not read whole has ok false, for the caller to read otherwise.
// It returns false when the ring has failed (every file then has ok
// false); the reader is not to be used again.
func (rr *ringReader) readBatch(files []catalogFile, fn func(k int, data []byte, ok bool)) bool {
	n := min(len(files), ringBatchFiles)
	var got [ringBatchFiles][4]int32
	queued := 0
	flags := unix.O_RDONLY
	if !noAtimeRefused.Load() {
		flags |= unix.O_NOATIME
	}
	for s := range n {
		name := baseName(files[s].path)
		if len(name) >= ringNameMax {
			got[s][opOpen] = -int32(unix.ENAMETOOLONG) // readScratch says so
			continue
		}
		at := nameAt(s)
		copy(rr.mem[at:], name)
		rr.mem[at+len(name)] = 0
		tag := uint64(s) << 2
		rr.r.queueOpenDirect(rr.d.fd, &rr.mem[at], flags, s, tag|opOpen)
		rr.r.queueReadFixed(s, &rr.mem[bufAt(s)], ringFileBuf, tag|opRead)
		rr.r.queueReadFixed(s, &rr.mem[probeAt(s)], 1, tag|opProbe)
		rr.r.queueCloseDirect(s, tag|opClose)
		queued += 4
	}
	// Every entry the kernel takes completes once, a cancelled one
	// included; the kernel may take fewer than it is given in one call
	// (it stops at an entry it refuses), and enter gives it the rest.
	for reaped := 0; reaped < queued; {
		if err := rr.r.enter(1); err != nil && err != unix.EAGAIN && err != unix.EBUSY {
			rr.broken = true
			for k := range n {
				fn(k, nil, false)
			}
			return false
		}
		reaped += rr.r.reap(func(tag uint64, res int32) {
			got[tag>>2][tag&3] = res
		})
	}
	for s := range n {
		g := got[s]
		if g[opOpen] == -int32(unix.EINVAL) || g[opRead] == -int32(unix.EBADF) || g[opRead] == -int32(unix.EINVAL) {
			// A kernel without opens into a slot (before 5.15), or
			// without the read linked to one (before 5.18).
			ringRefused.Store(true)
		}
		if g[opClose] < 0 && g[opOpen] >= 0 {
			// A slot that did not close: the next batch's open into it
			// would find it taken. Not seen; the ring is dropped.
			rr.broken = true
		}
		ok := g[opOpen] >= 0 && g[opRead] >= 0 && int(g[opRead]) <= ringFileBuf && g[opProbe] == 0
		if !ok {
			fn(s, nil, false)
			continue
		}
		b := bufAt(s)
		fn(s, rr.mem[b:b+int(g[opRead]):b+int(g[opRead])], true)
	}
	return !rr.broken && !ringRefused.Load()
}

// baseName is filepath.Base of a file's path in its directory (the
// catalog's paths are cleaned, with no trailing slash).
func baseName(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			return path[i+1:]
		}
	}
	return path
}
