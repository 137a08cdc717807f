// Package httperr is the one table that maps provisiond's sentinel errors
// to HTTP statuses. The boot server (server.toHTTP) and the admin API
// (admin.toAPI) both look errors up here, so an error kind gets the same
// status on both listeners; each transport keeps only what is its own:
// its error type, its body format, and the words of a few messages (the
// admin API can point at its own routes).
//
// Statuses follow the house rule: 400 bad input, 403 refused, 404 not
// ours, 409 conflict, 422 invalid content, 500 our fault, 503 exhausted or
// unavailable. An error that is none of these kinds is a 500, and the
// client is told to look in the log.
package httperr

import (
	"errors"
	"net/http"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/lifecycle"
	"github.com/provisiond/provisiond/profiles"
	"github.com/provisiond/provisiond/resolve"
	"github.com/provisiond/provisiond/storage"
)

// Kind is one row of Table: the errors that are Err (errors.Is) get
// Status.
type Kind struct {
	// Name says what the row is about, for tests and reading.
	Name string
	Err  error
	// Status is the HTTP status for the kind.
	Status int
	// Msg is what a client is told; nil for the error's own text.
	Msg func(error) string
	// AdminOnly marks a kind that the boot server leaves to its 500:
	// content a client sent (the boot endpoints take none; an invalid
	// object met while booting is the catalog's fault, not the
	// machine's), and objects looked up by name (the boot path reads a
	// snapshot, and a name missing from it is a bug).
	AdminOnly bool
}

// Message is what a client is told about err, of kind k.
func (k Kind) Message(err error) string {
	if k.Msg != nil {
		return k.Msg(err)
	}
	return err.Error()
}

func fixed(msg string) func(error) string { return func(error) string { return msg } }

// Table is every sentinel error a transport answers with a status of its
// own, in the order they are tried: the first kind an error is decides
// (an error can be two, like catalog.ErrNotRegistered, which is also
// catalog.ErrNoMatch).
var Table = []Kind{
	{Name: "conflict in the store", Err: storage.ErrConflict, Status: http.StatusConflict, AdminOnly: true},
	{Name: "invalid catalog", Err: catalog.ErrInvalid, Status: http.StatusUnprocessableEntity, AdminOnly: true},
	{Name: "invalid group", Err: groups.ErrInvalid, Status: http.StatusUnprocessableEntity, AdminOnly: true},
	{Name: "invalid profile", Err: profiles.ErrInvalid, Status: http.StatusUnprocessableEntity, AdminOnly: true},
	{Name: "invalid pool", Err: ipam.ErrInvalid, Status: http.StatusUnprocessableEntity, AdminOnly: true},
	{Name: "invalid machine", Err: catalog.ErrInvalidMachine, Status: http.StatusUnprocessableEntity, AdminOnly: true},
	{Name: "bad mac", Err: groups.ErrBadMAC, Status: http.StatusBadRequest},
	{Name: "bad uuid", Err: groups.ErrBadUUID, Status: http.StatusBadRequest},
	{Name: "bad labels", Err: groups.ErrBadLabels, Status: http.StatusBadRequest},
	{Name: "not found", Err: storage.ErrNotFound, Status: http.StatusNotFound, AdminOnly: true},
	{Name: "needs a mac", Err: catalog.ErrNeedMAC, Status: http.StatusBadRequest},
	{Name: "not registered", Err: catalog.ErrNotRegistered, Status: http.StatusForbidden}, // before ErrNoMatch, which it also is
	{Name: "no match", Err: catalog.ErrNoMatch, Status: http.StatusNotFound, Msg: fixed("no matching group")},
	{Name: "no template", Err: catalog.ErrNoTemplate, Status: http.StatusNotFound},
	{Name: "pool exhausted", Err: ipam.ErrExhausted, Status: http.StatusServiceUnavailable},
	{Name: "renders busy", Err: profiles.ErrRenderBusy, Status: http.StatusServiceUnavailable, Msg: fixed("too many slow renders still running, try again")},
	{Name: "catalog not loaded", Err: resolve.ErrNotReady, Status: http.StatusServiceUnavailable, Msg: fixed("catalog not loaded yet")},
	{Name: "store unavailable", Err: storage.ErrUnavailable, Status: http.StatusServiceUnavailable, Msg: storage.UnavailableMessage},
	// A report the machine's state refuses (409), or that names no
	// machine or state (400): the lifecycle's own statuses.
	{Name: "stale report", Err: inventory.ErrTransition, Status: lifecycle.Status(inventory.ErrTransition)},
	{Name: "state not reportable", Err: inventory.ErrState, Status: lifecycle.Status(inventory.ErrState)},
	{Name: "report names no machine", Err: inventory.ErrUnknown, Status: lifecycle.Status(inventory.ErrUnknown)},
}

// Lookup returns the first kind of Table that err is; with admin false
// (the boot server) it skips the AdminOnly kinds. ok is false when err is
// none of them: a 500.
func Lookup(err error, admin bool) (k Kind, ok bool) {
	for _, k := range Table {
		if (admin || !k.AdminOnly) && errors.Is(err, k.Err) {
			return k, true
		}
	}
	return Kind{}, false
}
