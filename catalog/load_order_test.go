package catalog

import (
	"slices"
	"testing"
)

// TestReadOrder: readOrder sorts the listing by inode number, files of
// one inode (hard links) in listing order, and gives nil when an inode
// number is missing (a listing that did not give them).
func TestReadOrder(t *testing.T) {
	files := []catalogFile{{ino: 30}, {ino: 10}, {ino: 20}, {ino: 10}, {ino: 5}}
	if got, want := readOrder(files), []int32{4, 1, 3, 2, 0}; !slices.Equal(got, want) {
		t.Errorf("readOrder: %v, want %v", got, want)
	}
	files[2].ino = 0
	if got := readOrder(files); got != nil {
		t.Errorf("readOrder with an inode number missing: %v, want nil", got)
	}
	if got := readOrder(nil); got != nil {
		t.Errorf("readOrder(nil): %v, want nil", got)
	}
}
