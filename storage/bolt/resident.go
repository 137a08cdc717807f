package bolt

import bbolt "go.etcd.io/bbolt"

// residentChunk is how many bytes of stored keys and values a
// residentWalk reads before it lets the pages they came from go.
const residentChunk = 8 << 20

// residentWalk bounds the mapped pages that one walk over a large bucket
// holds resident: a read of 100,000 stored groups maps 57 MB of the file
// into the process, counted in its resident memory on top of what the
// walk allocates. Every chunk bytes read it drops the mapping's resident
// pages (dropResident), so the walk holds at most about chunk bytes of
// them. Only for walks that keep no key or value slice after the next
// step (a value still held is still valid: it faults back in from the
// page cache when touched), in a read transaction or a write transaction
// before its commit (dropResident).
type residentWalk struct {
	tx    *bbolt.Tx
	chunk int
	n     int
}

func newResidentWalk(tx *bbolt.Tx) *residentWalk {
	return &residentWalk{tx: tx, chunk: residentChunk}
}

// read counts n more bytes read from the mapping.
func (w *residentWalk) read(n int) {
	w.n += n
	if w.n >= w.chunk {
		dropResident(w.tx)
		w.n = 0
	}
}
