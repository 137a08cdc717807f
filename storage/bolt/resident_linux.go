package bolt

import (
	"syscall"

	bbolt "go.etcd.io/bbolt"
)

// dropResident tells the kernel that this process no longer needs the
// pages of the database file that tx's reads brought into its mapping:
// a read of the whole catalog (100,000 groups: 57 MB) leaves every page
// of it resident, counted in the process's resident memory on top of the
// decoded catalog, until the kernel needs the memory. The pages stay in
// the page cache; a later read maps them again from there (a minor page
// fault, no disk read). The mapping is bbolt's shared, read-only mapping
// of the file (bbolt writes with pwrite): what it shows is the page
// cache's content, with the pages resident or not, so nothing is lost,
// not even under a write transaction's nodes that point into it. The
// address range must stay the file's mapping throughout: tx is a read
// transaction, which holds bbolt's lock against a remap, or a write
// transaction before its commit (only a commit remaps, and tx is the only
// writer). An error is ignored: the pages only stay resident.
func dropResident(tx *bbolt.Tx) {
	size := tx.Size()
	if size <= 0 {
		return
	}
	syscall.Syscall(syscall.SYS_MADVISE, tx.DB().Info().Data, uintptr(size), syscall.MADV_DONTNEED)
}
