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
	idx := (atomic.LoadUint32(r.sqTail) + r.queued) & *r.sqMask
	sqe := (*[ioringSQESize]byte)(unsafe.Add(r.sqes, uintptr(idx)*ioringSQESize))
	*sqe = [ioringSQESize]byte{}
	sqe[ioringSQEOpcode] = ioringOpReadv
	*(*int32)(unsafe.Pointer(&sqe[ioringSQEFd])) = int32(fd)
	*(*uint64)(unsafe.Pointer(&sqe[ioringSQEAddr])) = uint64(uintptr(unsafe.Pointer(iov)))
	*(*uint32)(unsafe.Pointer(&sqe[ioringSQELen])) = 1 // one iovec
	*(*uint64)(unsafe.Pointer(&sqe[ioringSQEUserData])) = tag
	*(*uint32)(unsafe.Add(r.sqArray, uintptr(idx)*4)) = idx
	r.queued++
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
