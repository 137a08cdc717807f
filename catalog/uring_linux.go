package catalog

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// uring is the little of an io_uring (io_uring_setup(2)) that prefetch
// uses: reads queued a batch at a time and submitted with one system
// call, so that the kernel starts them under one block-layer plug, where
// the reads of neighbouring blocks merge into one request to the disk.
// One goroutine uses a uring.
type uring struct {
	fd                     int
	ring, sqeMem           []byte
	sqHead, sqTail, sqMask *uint32
	sqArray                unsafe.Pointer
	sqes                   unsafe.Pointer
	cqHead, cqTail, cqMask *uint32
	cqes                   unsafe.Pointer
	queued                 uint32 // queued, not yet made the kernel's
}

// The kernel's constants (include/uapi/linux/io_uring.h).
const (
	ioringOpReadv         = 1
	ioringEnterGetEvents  = 1
	ioringFeatSingleMmap  = 1
	ioringOffSQRing       = 0
	ioringOffSQEs         = 0x10000000
	ioringSQESize         = 64
	ioringCQESize         = 16
	ioringSQEOpcode       = 0
	ioringSQEFd           = 4
	ioringSQEAddr         = 16
	ioringSQELen          = 24
	ioringSQEUserData     = 32
	ioringCQEUserDataOffs = 0
	ioringCQEResOffs      = 8
)

// ioURingParams is struct io_uring_params.
type ioURingParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sqOff                                                                  ioSQRingOffsets
	cqOff                                                                  ioCQRingOffsets
}

type ioSQRingOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type ioCQRingOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

// newURing sets up a ring of at least entries submission entries, or
// fails: a kernel before 5.4 (the rings mapped apart: refused here),
// io_uring disabled (kernel.io_uring_disabled) or forbidden (a seccomp
// profile).
func newURing(entries uint32) (*uring, error) {
	var p ioURingParams
	fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		return nil, e
	}
	r := &uring{fd: int(fd)}
	if p.features&ioringFeatSingleMmap == 0 {
		unix.Close(r.fd)
		return nil, unix.ENOSYS
	}
	size := max(p.sqOff.array+p.sqEntries*4, p.cqOff.cqes+p.cqEntries*ioringCQESize)
	ring, err := unix.Mmap(r.fd, ioringOffSQRing, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		unix.Close(r.fd)
		return nil, err
	}
	sqes, err := unix.Mmap(r.fd, ioringOffSQEs, int(p.sqEntries*ioringSQESize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		unix.Munmap(ring)
		unix.Close(r.fd)
		return nil, err
	}
	r.ring, r.sqeMem = ring, sqes
	at := func(off uint32) unsafe.Pointer { return unsafe.Pointer(&ring[off]) }
	r.sqHead = (*uint32)(at(p.sqOff.head))
	r.sqTail = (*uint32)(at(p.sqOff.tail))
	r.sqMask = (*uint32)(at(p.sqOff.ringMask))
	r.sqArray = at(p.sqOff.array)
	r.sqes = unsafe.Pointer(&sqes[0])
	r.cqHead = (*uint32)(at(p.cqOff.head))
	r.cqTail = (*uint32)(at(p.cqOff.tail))
	r.cqMask = (*uint32)(at(p.cqOff.ringMask))
	r.cqes = at(p.cqOff.cqes)
	return r, nil
}

// close closes the ring. Reads still in flight are cancelled, or finish,
// after it returns: their buffers must outlive it (prefetch's are not
// the garbage collector's).
func (r *uring) close() {
	unix.Munmap(r.sqeMem)
	unix.Munmap(r.ring)
	unix.Close(r.fd)
}

// queueRead queues a read at offset 0 of fd into the buffer iov
// describes, whose completion carries tag; enter submits it. iov and its
// buffer must stay valid until the completion is reaped, and fd open
// until the read is submitted. The caller keeps no more reads queued and
// in flight than the ring has entries. It is IORING_OP_READV, which
// every kernel with io_uring has (IORING_OP_READ came in 5.6).
func (r *uring) queueRead(fd int, iov *unix.Iovec, tag uint64) {
	e := r.sqe()
	e[ioringSQEOpcode] = ioringOpReadv
	*(*int32)(unsafe.Pointer(&e[ioringSQEFd])) = int32(fd)
	*(*uint64)(unsafe.Pointer(&e[ioringSQEAddr])) = uint64(uintptr(unsafe.Pointer(iov)))
	*(*uint32)(unsafe.Pointer(&e[ioringSQELen])) = 1 // one iovec
	*(*uint64)(unsafe.Pointer(&e[ioringSQEUserData])) = tag
}

// enter submits what is queued (and anything an interrupted call left)
// and, with wait > 0, waits until at least wait completions are there to
// reap.
func (r *uring) enter(wait uint32) error {
	if r.queued > 0 {
		atomic.StoreUint32(r.sqTail, atomic.LoadUint32(r.sqTail)+r.queued)
		r.queued = 0
	}
	var flags uintptr
	if wait > 0 {
		flags = ioringEnterGetEvents
	}
	for {
		n := atomic.LoadUint32(r.sqTail) - atomic.LoadUint32(r.sqHead)
		_, _, e := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(n), uintptr(wait), flags, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}

// reap calls fn with the tag and result (bytes read, or -errno) of each
// completion there is, and returns how many there were.
func (r *uring) reap(fn func(tag uint64, res int32)) int {
	head := atomic.LoadUint32(r.cqHead)
	tail := atomic.LoadUint32(r.cqTail)
	n := 0
	for ; head != tail; head++ {
		cqe := unsafe.Add(r.cqes, uintptr(head&*r.cqMask)*ioringCQESize)
		fn(*(*uint64)(unsafe.Add(cqe, ioringCQEUserDataOffs)), *(*int32)(unsafe.Add(cqe, ioringCQEResOffs)))
		n++
	}
	atomic.StoreUint32(r.cqHead, head)
	return n
}

// More of the kernel's constants, for readBatch's chains.
const (
	ioringOpOpenat       = 18
	ioringOpClose        = 19
	ioringOpRead         = 22
	ioringRegisterFiles  = 2
	iosqeFixedFile       = 1 << 0
	iosqeIOLink          = 1 << 2
	iosqeIOHardlink      = 1 << 3
	ioringSQEFlags       = 1
	ioringSQEOff         = 8
	ioringSQEOpFlags     = 28
	ioringSQEFileIndex   = 44
	ioringOffCurrentFile = ^uint64(0) // off -1: the file's position, as read(2)
)

// sqe returns the next submission entry, zeroed, and queues it (enter
// submits it).
func (r *uring) sqe() *[ioringSQESize]byte {
	idx := (atomic.LoadUint32(r.sqTail) + r.queued) & *r.sqMask
	e := (*[ioringSQESize]byte)(unsafe.Add(r.sqes, uintptr(idx)*ioringSQESize))
	*e = [ioringSQESize]byte{}
	*(*uint32)(unsafe.Add(r.sqArray, uintptr(idx)*4)) = idx
	r.queued++
	return e
}

// registerSparse registers a table of n fixed files, all empty, for
// opens into a slot (queueOpenDirect).
func (r *uring) registerSparse(n int) error {
	fds := make([]int32, n)
	for i := range fds {
		fds[i] = -1
	}
	_, _, e := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), ioringRegisterFiles, uintptr(unsafe.Pointer(&fds[0])), uintptr(n), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// queueOpenDirect queues openat(dirfd, name, flags) into fixed-file slot
// (linux 5.15), linked to the next entry: should it fail, what it links to
// is cancelled. name must be NUL-terminated and stay put until the entry
// is submitted; flags must not have O_CLOEXEC (the kernel refuses it for
// a slot, which no process can inherit).
func (r *uring) queueOpenDirect(dirfd int, name *byte, flags int, slot int, tag uint64) {
	e := r.sqe()
	e[ioringSQEOpcode] = ioringOpOpenat
	e[ioringSQEFlags] = iosqeIOLink
	*(*int32)(unsafe.Pointer(&e[ioringSQEFd])) = int32(dirfd)
	*(*uint64)(unsafe.Pointer(&e[ioringSQEAddr])) = uint64(uintptr(unsafe.Pointer(name)))
	*(*uint32)(unsafe.Pointer(&e[ioringSQEOpFlags])) = uint32(flags)
	*(*uint32)(unsafe.Pointer(&e[ioringSQEFileIndex])) = uint32(slot + 1)
	*(*uint64)(unsafe.Pointer(&e[ioringSQEUserData])) = tag
}

// queueReadFixed queues a read of up to n bytes at the file's position
// from fixed-file slot into buf, hard-linked to the next entry (which
// runs whatever the read gives: a short read is no failure here). buf
// must stay valid until the completion is reaped.
func (r *uring) queueReadFixed(slot int, buf *byte, n int, tag uint64) {
	e := r.sqe()
	e[ioringSQEOpcode] = ioringOpRead
	e[ioringSQEFlags] = iosqeFixedFile | iosqeIOHardlink
	*(*int32)(unsafe.Pointer(&e[ioringSQEFd])) = int32(slot)
	*(*uint64)(unsafe.Pointer(&e[ioringSQEOff])) = ioringOffCurrentFile
	*(*uint64)(unsafe.Pointer(&e[ioringSQEAddr])) = uint64(uintptr(unsafe.Pointer(buf)))
	*(*uint32)(unsafe.Pointer(&e[ioringSQELen])) = uint32(n)
	*(*uint64)(unsafe.Pointer(&e[ioringSQEUserData])) = tag
}

// queueCloseDirect queues the close of fixed-file slot.
func (r *uring) queueCloseDirect(slot int, tag uint64) {
	e := r.sqe()
	e[ioringSQEOpcode] = ioringOpClose
	*(*uint32)(unsafe.Pointer(&e[ioringSQEFileIndex])) = uint32(slot + 1)
	*(*uint64)(unsafe.Pointer(&e[ioringSQEUserData])) = tag
}
