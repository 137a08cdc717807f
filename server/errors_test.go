package server

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
	"github.com/provisiond/provisiond/resolve"
	"github.com/provisiond/provisiond/storage"
)

// TestToHTTPStatusByKind pins each kind of error to its boot endpoint
// status, with the same meaningless message for all.
func TestToHTTPStatusByKind(t *testing.T) {
	wrap := func(sentinel error) error { return fmt.Errorf("%w: some words", sentinel) }
	tests := []struct {
		name string
		err  error
		code int
	}{
		{"http error as is", &httpError{Code: http.StatusForbidden, Msg: "x"}, 403},
		{"bad mac", wrap(groups.ErrBadMAC), 400},
		{"bad uuid", wrap(groups.ErrBadUUID), 400},
		{"bad labels", wrap(groups.ErrBadLabels), 400},
		{"needs a mac", wrap(catalog.ErrNeedMAC), 400},
		{"no match", wrap(catalog.ErrNoMatch), 404},
		{"not registered", fmt.Errorf("%w (%w): some words", catalog.ErrNotRegistered, catalog.ErrNoMatch), 403},
		{"no template", wrap(catalog.ErrNoTemplate), 404},
		{"pool exhausted", wrap(ipam.ErrExhausted), 503},
		{"renders busy", wrap(profiles.ErrRenderBusy), 503},
		{"store unavailable", wrap(storage.ErrUnavailable), 503},
		{"no snapshot yet", resolve.ErrNotReady, 503},
		{"stale report", wrap(inventory.ErrTransition), 409},
		{"state not reportable", wrap(inventory.ErrState), 400},
		{"report names no machine", wrap(inventory.ErrUnknown), 400},
		{"anything else", errors.New("no matching group"), 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if he := toHTTP(tc.err); he.Code != tc.code {
				t.Errorf("toHTTP(%v) = %d, want %d", tc.err, he.Code, tc.code)
			}
		})
	}
}

// TestToHTTPUnavailableNamesStore: a store that cannot write is answered
// 503 naming the store when Timed knows its name, and pointing at the
// log for the cause, which the client is not shown.
func TestToHTTPUnavailableNamesStore(t *testing.T) {
	cause := fmt.Errorf("%w: /data/provisiond.db cannot be written: no space left on device", storage.ErrUnavailable)
	tests := []struct {
		err  error
		want string
	}{
		{&storage.UnavailableError{Store: "bbolt file /data/provisiond.db", Err: cause}, "store unavailable (bbolt file /data/provisiond.db): cannot write now, try again; the server log has the cause"},
		{fmt.Errorf("allocating: %w", &storage.UnavailableError{Store: "etcd", Err: cause}), "store unavailable (etcd): cannot write now, try again; the server log has the cause"},
		{cause, "store unavailable: cannot write now, try again; the server log has the cause"},
	}
	for _, tc := range tests {
		he := toHTTP(tc.err)
		if he.Code != http.StatusServiceUnavailable || he.Msg != tc.want || !errors.Is(he.Err, storage.ErrUnavailable) {
			t.Errorf("toHTTP(%v) = %d %q, want 503 %q", tc.err, he.Code, he.Msg, tc.want)
		}
	}
}
