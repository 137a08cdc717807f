package storage_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/bolt"
)

// TestTimedWalkMachines: Timed times a walk as "machines", returns its
// function's error as it is (even one that says unavailable: it is the
// caller's, not the store's), and names the store when the store itself
// is unavailable.
func TestTimedWalkMachines(t *testing.T) {
	s, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveMachines(t.Context(), []inventory.Machine{{Key: "52:54:00:00:00:01"}, {Key: "52:54:00:00:00:02"}}); err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	timed := &storage.Timed{Store: s, Name: "bbolt file x", Observe: func(op string, _ time.Duration) { ops[op]++ }}
	var keys []string
	if err := timed.WalkMachines(t.Context(), func(m inventory.Machine) error { keys = append(keys, m.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || ops["machines"] != 1 {
		t.Errorf("walked %q, observed %v; want both records and one machines", keys, ops)
	}
	mine := fmt.Errorf("the recorder is full: %w", storage.ErrUnavailable)
	if err := timed.WalkMachines(t.Context(), func(inventory.Machine) error { return mine }); err != mine {
		t.Errorf("a walk whose function failed returned %v, want the function's error as it is", err)
	}
	s.Close()
	err = timed.WalkMachines(t.Context(), func(inventory.Machine) error { return nil })
	var ue *storage.UnavailableError
	if !errors.Is(err, storage.ErrUnavailable) || !errors.As(err, &ue) || ue.Store != "bbolt file x" {
		t.Errorf("a closed store's walk: %v, want an UnavailableError naming the store", err)
	}
}
