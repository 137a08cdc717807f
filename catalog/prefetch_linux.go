package catalog

import (
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// prefetchMin is the fewest files prefetch reads ahead: below it, the
// reads it would save are too few to matter.
const prefetchMin = 256

// ringBatch is how many reads prefetch queues at a time on a ring; two
// batches are in flight at most.
const ringBatch = 256

// maxPrefetchers bounds the goroutines of one prefetch (GOMAXPROCS
// otherwise).
const maxPrefetchers = 4

// Seams for tests: coldProbe says whether to prefetch (d.cold), and
// prefetchRing is false to prefetch with posix_fadvise, as when the
// kernel refuses an io_uring.
var (
	coldProbe    = catalogDir.cold
	prefetchRing = true
)

// prefetch reads files into the page cache, in inode order (readOrder),
// when a sample of them says they are not there, and returns when it is
// done (with posix_fadvise, when the reads are started): the caller then
// reads and decodes the files in its own order, as it would have, from
// memory. It reports nothing: a file it cannot open
// or read is left for the caller, whose error is the one it would have
// given without prefetch.
//
// At a million group files not in the page cache, the reads one at a
// time in directory order were a million requests to the disk, each one
// a wait and, in a virtual machine, an exit to the host: a start on one
// core took 92-94 s, 43-45 s of it in the kernel. Read in inode order
// through an io_uring, a batch at a time, neighbouring files are one
// request (93,000 for the million files), and the start took 34.5 s
// (docs/performance.md, "Start-up at 1,000,000 from a cold page cache").
// What is left is mostly the kernel's own work for a file it has not
// seen: looking up its name in a directory of a million, and making its
// inode.
func (d catalogDir) prefetch(files []catalogFile) {
	if d.fd < 0 || len(files) < prefetchMin || !coldProbe(d, files) {
		return
	}
	order := readOrder(files)
	if order == nil {
		return
	}
	// Each goroutine takes a run of the order: on two cores, two
	// look-ups at a time in the one directory.
	n := max(1, min(runtime.GOMAXPROCS(0), maxPrefetchers))
	part := (len(order) + n - 1) / n
	var wg sync.WaitGroup
	for lo := 0; lo < len(order); lo += part {
		run := order[lo:min(lo+part, len(order))]
		wg.Go(func() {
			if !prefetchRing || d.prefetchURing(files, run) != nil {
				d.prefetchAdvise(files, run)
			}
		})
	}
	wg.Wait()
}

// prefetchURing reads the first byte of each file of order (which brings
// the file's first pages into the page cache) through an io_uring: it
// opens a batch of files, submits their reads at once, and opens the
// next batch while they are under way. It fails only when it gets no
// ring; it has then read nothing.
func (d catalogDir) prefetchURing(files []catalogFile, order []int32) error {
	const slots = 2 * ringBatch
	r, err := newURing(slots)
	if err != nil {
		return err
	}
	// The bytes read, and the iovecs that say where, lie outside the Go
	// heap: should the ring fail with reads in flight, they may land
	// after this returns. Slot s reads into byte s after the iovecs.
	const iovSize = int(unsafe.Sizeof(unix.Iovec{}))
	buf, err := unix.Mmap(-1, 0, slots*(iovSize+1), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		r.close()
		return err
	}
	iovs := unsafe.Slice((*unix.Iovec)(unsafe.Pointer(&buf[0])), slots)
	for s := range iovs {
		iovs[s].Base = &buf[slots*iovSize+s]
		iovs[s].SetLen(1)
	}
	var fds [slots]int
	free := make([]int, slots)
	for s := range free {
		free[s] = s
	}
	inflight := 0
	// drain reaps until at most left reads are in flight, closing the
	// files read; false if the ring failed.
	drain := func(left int) bool {
		for inflight > left {
			inflight -= r.reap(func(tag uint64, _ int32) {
				unix.Close(fds[tag])
				free = append(free, int(tag))
			})
			if inflight > left && r.enter(1) != nil {
				return false
			}
		}
		return true
	}
	ok := true
	for k := 0; k < len(order) && ok; {
		queued := 0
		for ; k < len(order) && queued < ringBatch; k++ {
			fd, opened := d.openRegular(files[order[k]].path)
			if !opened {
				continue
			}
			s := free[len(free)-1]
			free = free[:len(free)-1]
			fds[s] = fd
			r.queueRead(fd, &iovs[s], uint64(s))
			queued++
		}
		inflight += queued
		ok = r.enter(0) == nil && drain(ringBatch)
	}
	if ok && drain(0) {
		r.close()
		unix.Munmap(buf)
		return nil
	}
	// The ring failed (it does not, short of the kernel running out of
	// memory): the reads still queued or in flight hold their own
	// references to their files, and end with the ring; buf stays
	// mapped for them.
	for _, s := range free {
		fds[s] = -1
	}
	for _, fd := range fds {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	r.close()
	return nil
}

// prefetchAdvise is prefetchURing with posix_fadvise(POSIX_FADV_WILLNEED)
// of each file: the reads start without waiting, but one at a time, each
// its own request to the disk.
func (d catalogDir) prefetchAdvise(files []catalogFile, order []int32) {
	for _, i := range order {
		if fd, ok := d.openRegular(files[i].path); ok {
			unix.Fadvise(fd, 0, 0, unix.FADV_WILLNEED)
			unix.Close(fd)
		}
	}
}

// openRegular opens path, a file directly in d, when it is a regular
// file that is not empty (the target of a symlink: read follows them
// too). It does not wait for a FIFO's writer (O_NONBLOCK), and leaves
// anything else, and a file it cannot open, to the reads that follow.
func (d catalogDir) openRegular(path string) (int, bool) {
	fd, err := d.openat(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK)
	if err != nil {
		return -1, false
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size == 0 {
		unix.Close(fd)
		return -1, false
	}
	return fd, true
}

// cold reports whether files are to be prefetched: whether an eighth or
// more of a sample of 64 of them, spread over the listing, have their
// first page out of the page cache. With the files in it (a restart, a
// SIGHUP) prefetch would be one more open of each file for nothing.
func (d catalogDir) cold(files []catalogFile) bool {
	const samples = 64
	step := max(1, len(files)/samples)
	seen, missing := 0, 0
	for i := 0; i < len(files) && seen < samples; i += step {
		fd, ok := d.openRegular(files[i].path)
		if !ok {
			continue
		}
		resident, ok := inPageCache(fd)
		unix.Close(fd)
		if ok {
			seen++
			if !resident {
				missing++
			}
		}
	}
	return missing > 0 && missing*8 >= seen
}

// inPageCache reports whether the first page of fd, a regular file that
// is not empty, is in the page cache (ok: mincore(2) could tell).
func inPageCache(fd int) (resident, ok bool) {
	m, err := unix.Mmap(fd, 0, 1, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return false, false
	}
	defer unix.Munmap(m)
	var vec [1]byte
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		return false, false
	}
	return vec[0]&1 != 0, true
}
