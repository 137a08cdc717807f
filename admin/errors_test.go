package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/internal/httperr"
	"github.com/provisiond/provisiond/internal/invalid"
	"github.com/provisiond/provisiond/internal/strictjson"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
	"github.com/provisiond/provisiond/resolve"
	"github.com/provisiond/provisiond/storage"
)

// TestToAPIStatusByKind pins each kind of error to its admin status and
// field. Every message is the same meaningless text, so no status can
// depend on what an error says.
func TestToAPIStatusByKind(t *testing.T) {
	const text = "some words"
	wrap := func(sentinel error) error { return fmt.Errorf("%w: %s", sentinel, text) }
	var typeErr error
	if err := strictjson.Decode([]byte(`{"boot":{"kernel":5}}`), &profiles.Profile{}); err != nil {
		typeErr = err
	}
	unknown := strictjson.Decode([]byte(`{"nope":1}`), &profiles.Profile{})
	syntax := strictjson.Decode([]byte(`{"id":`), &profiles.Profile{})
	tests := []struct {
		name  string
		err   error
		code  int
		field string
	}{
		{"api error as is", &apiError{Code: http.StatusTeapot, Field: "f", Msg: text}, http.StatusTeapot, "f"},
		{"body too large", fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 10}), 413, ""},
		{"empty body", io.EOF, 400, ""},
		{"malformed JSON", syntax, 400, ""},
		{"truncated JSON", io.ErrUnexpectedEOF, 400, ""},
		{"trailing data", strictjson.ErrTrailing, 400, ""},
		{"wrong type", fmt.Errorf("%w: %w", profiles.ErrInvalid, typeErr), 422, "boot.kernel"},
		{"unknown field", unknown, 422, "nope"},
		{"unknown field in a document", &catalog.DocumentError{Field: "groups[1]", Err: fmt.Errorf("%w: %w", groups.ErrInvalid, unknown)}, 422, "groups[1].nope"},
		{"field error", invalid.Field("selector.mac", wrap(groups.ErrInvalid)), 422, "selector.mac"},
		{"field error in a document", &catalog.DocumentError{Field: "groups[1]", Err: invalid.Field("selector.n", wrap(groups.ErrInvalid))}, 422, "groups[1].selector.n"},
		{"document error without inner field", &catalog.DocumentError{Field: "profiles[1]", Err: wrap(catalog.ErrInvalid)}, 422, "profiles[1]"},
		{"conflict between objects", invalid.Conflict("groups/a", "groups/b", wrap(catalog.ErrInvalid)), 409, ""},
		{"conflict in the store", wrap(storage.ErrConflict), 409, ""},
		{"invalid catalog", wrap(catalog.ErrInvalid), 422, ""},
		{"invalid group", wrap(groups.ErrInvalid), 422, ""},
		{"invalid profile", wrap(profiles.ErrInvalid), 422, ""},
		{"invalid pool", invalid.Field("start", wrap(ipam.ErrInvalid)), 422, "start"},
		{"invalid machine", invalid.Field("leases.services", wrap(catalog.ErrInvalidMachine)), 422, "leases.services"},
		{"bad mac", wrap(groups.ErrBadMAC), 400, ""},
		{"bad uuid", wrap(groups.ErrBadUUID), 400, ""},
		{"bad labels", wrap(groups.ErrBadLabels), 400, ""},
		{"not found", wrap(storage.ErrNotFound), 404, ""},
		{"no match", wrap(catalog.ErrNoMatch), 404, ""},
		{"not registered", fmt.Errorf("%w (%w): some words", catalog.ErrNotRegistered, catalog.ErrNoMatch), 403, ""},
		{"no template", wrap(catalog.ErrNoTemplate), 404, ""},
		{"needs a mac", wrap(catalog.ErrNeedMAC), 400, ""},
		{"pool needs a mac", invalid.Field("mac", &resolve.PoolError{Group: "g", Pool: "p", State: resolve.LeaseNeedsMAC, Err: catalog.ErrNeedMAC}), 400, "mac"},
		{"preview of a full pool", &resolve.PoolError{Pool: "p", State: resolve.LeaseExhausted, Err: ipam.ErrExhausted}, 503, ""},
		{"no snapshot yet", resolve.ErrNotReady, 503, ""},
		{"pool exhausted", wrap(ipam.ErrExhausted), 503, ""},
		{"renders busy", wrap(profiles.ErrRenderBusy), 503, ""},
		{"store unavailable", wrap(storage.ErrUnavailable), 503, ""},
		{"anything else", errors.New(text), 500, ""},
		{"a render that fails", &renderError{errors.New(text)}, 422, ""},
		{"a render without template", &renderError{wrap(catalog.ErrNoTemplate)}, 404, ""},
		{"a delete others need", &deleteError{"profiles/p", invalid.Field("profile", wrap(catalog.ErrInvalid))}, 409, ""},
		{"a delete of nothing", &deleteError{"profiles/p", wrap(storage.ErrNotFound)}, 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ae := toAPI(tc.err)
			if ae.Code != tc.code || ae.Field != tc.field {
				t.Errorf("toAPI(%v) = %d field %q, want %d field %q", tc.err, ae.Code, ae.Field, tc.code, tc.field)
			}
			if !errors.Is(ae, tc.err) && ae != tc.err {
				t.Errorf("the cause %v is lost", tc.err)
			}
		})
	}
	// A message that once chose a status by its words no longer does.
	for _, words := range []string{"identical selectors", "both pin", "pools overlap", `json: unknown field "x"`} {
		if ae := toAPI(wrap2(catalog.ErrInvalid, words)); ae.Code != 422 || ae.Field != "" {
			t.Errorf("%q: %d field %q, want 422 and no field", words, ae.Code, ae.Field)
		}
	}
	if typeErr == nil {
		t.Fatal("the type error case decoded")
	}
	var typ *json.UnmarshalTypeError
	if !errors.As(typeErr, &typ) {
		t.Errorf("strictjson lost the type error: %v", typeErr)
	}
}

func wrap2(sentinel error, words string) error { return fmt.Errorf("%w: %s", sentinel, words) }

// TestToAPIFollowsTable: the admin API answers every sentinel of
// httperr.Table with the table's status; server's TestToHTTPFollowsTable
// checks the boot server against the same rows, so the two listeners
// agree on every sentinel they both answer.
func TestToAPIFollowsTable(t *testing.T) {
	for _, k := range httperr.Table {
		t.Run(k.Name, func(t *testing.T) {
			err := fmt.Errorf("%w: some words", k.Err)
			if ae := toAPI(err); ae.Code != k.Status || ae.Err != err {
				t.Errorf("toAPI(%v) = %d (cause %v), want %d", err, ae.Code, ae.Err, k.Status)
			}
		})
	}
}
