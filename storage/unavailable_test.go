package storage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/storage"
)

// failingStore fails every Allocate with err.
type failingStore struct {
	storage.Store
	err error
}

func (f failingStore) Allocate(context.Context, *ipam.Pool, string) (ipam.Lease, error) {
	return ipam.Lease{}, f.err
}

// TestTimedNamesUnavailableStore: with a Name, Timed wraps an
// ErrUnavailable in an UnavailableError naming the store, with the
// cause's message unchanged; other errors pass through as they are.
func TestTimedNamesUnavailableStore(t *testing.T) {
	full := fmt.Errorf("%w: /d/provisiond.db cannot be written: no space left on device", storage.ErrUnavailable)
	_, err := (&storage.Timed{Store: failingStore{err: full}, Name: "bbolt file /d/provisiond.db"}).Allocate(context.Background(), nil, "m")
	var ue *storage.UnavailableError
	if !errors.As(err, &ue) || ue.Store != "bbolt file /d/provisiond.db" || !errors.Is(err, storage.ErrUnavailable) || err.Error() != full.Error() {
		t.Fatalf("got %T %v", err, err)
	}
	if got, want := storage.UnavailableMessage(err), "store unavailable (bbolt file /d/provisiond.db): cannot write now, try again; the server log has the cause"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	exhausted := fmt.Errorf("%w: pool p", ipam.ErrExhausted)
	if _, err := (&storage.Timed{Store: failingStore{err: exhausted}, Name: "etcd"}).Allocate(context.Background(), nil, "m"); err != exhausted {
		t.Errorf("another error changed: %T %v", err, err)
	}
	if _, err := (&storage.Timed{Store: failingStore{err: full}}).Allocate(context.Background(), nil, "m"); err != full {
		t.Errorf("without a Name: %T %v", err, err)
	}
}
