package httperr

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/storage"
)

// TestTable: each sentinel has one row, with a status a client can be
// given on purpose (never 500, which is what no row means).
func TestTable(t *testing.T) {
	seen := map[error]string{}
	for _, k := range Table {
		if k.Err == nil || k.Name == "" {
			t.Errorf("row %+v: want a name and an error", k)
			continue
		}
		if other, dup := seen[k.Err]; dup {
			t.Errorf("%v is in rows %q and %q", k.Err, other, k.Name)
		}
		seen[k.Err] = k.Name
		if k.Status < 400 || k.Status >= 600 || k.Status == http.StatusInternalServerError || http.StatusText(k.Status) == "" {
			t.Errorf("%s: status %d", k.Name, k.Status)
		}
	}
}

// TestLookup: the first kind an error is decides, the boot server skips
// the admin-only kinds, and what is no kind is not found (a 500).
func TestLookup(t *testing.T) {
	both := fmt.Errorf("%w (%w): some words", catalog.ErrNotRegistered, catalog.ErrNoMatch)
	for _, admin := range []bool{false, true} {
		if k, ok := Lookup(both, admin); !ok || k.Err != catalog.ErrNotRegistered || k.Status != http.StatusForbidden {
			t.Errorf("Lookup(not registered and no match, admin=%v) = %+v %v, want 403 not registered", admin, k, ok)
		}
		if k, ok := Lookup(errors.New("no matching group"), admin); ok {
			t.Errorf("Lookup(plain error whose words are a sentinel's, admin=%v) = %+v, want none", admin, k)
		}
	}
	nf := fmt.Errorf("%w: groups/x", storage.ErrNotFound)
	if k, ok := Lookup(nf, true); !ok || k.Status != http.StatusNotFound {
		t.Errorf("admin Lookup(not found) = %+v %v, want 404", k, ok)
	}
	if k, ok := Lookup(nf, false); ok {
		t.Errorf("boot Lookup(not found) = %+v, want none (admin only)", k)
	}
	unavailable := &storage.UnavailableError{Store: "etcd", Err: storage.ErrUnavailable}
	if k, ok := Lookup(unavailable, false); !ok || k.Message(unavailable) != storage.UnavailableMessage(unavailable) {
		t.Errorf("Lookup(unavailable) message %q, want %q", k.Message(unavailable), storage.UnavailableMessage(unavailable))
	}
}
