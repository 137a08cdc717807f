package server

import (
	"errors"
	"fmt"
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

// httpError keeps what the client is told (Code, Msg) apart from the cause
// that is logged (Err).
type httpError struct {
	Code int
	Msg  string
	Err  error
}

func (e *httpError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Code, e.Msg, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Code, e.Msg)
}

func (e *httpError) Unwrap() error { return e.Err }

// toHTTP maps an error to the status and message a client gets. It is the
// one place where statuses are chosen for errors.
func toHTTP(err error) *httpError {
	var he *httpError
	switch {
	case errors.As(err, &he):
		return he
	case errors.Is(err, groups.ErrBadMAC), errors.Is(err, groups.ErrBadUUID), errors.Is(err, groups.ErrBadLabels):
		return &httpError{http.StatusBadRequest, err.Error(), err}
	case errors.Is(err, catalog.ErrNeedMAC):
		return &httpError{http.StatusBadRequest, err.Error(), err}
	case errors.Is(err, catalog.ErrNotRegistered): // before ErrNoMatch, which it also is
		return &httpError{http.StatusForbidden, "refused: the group's pool is limited to registered machines, and this machine is not registered", err}
	case errors.Is(err, catalog.ErrNoMatch):
		return &httpError{http.StatusNotFound, "no matching group", err}
	case errors.Is(err, catalog.ErrNoTemplate):
		return &httpError{http.StatusNotFound, err.Error(), err}
	case errors.Is(err, ipam.ErrExhausted):
		return &httpError{http.StatusServiceUnavailable, err.Error(), err}
	case errors.Is(err, profiles.ErrRenderBusy):
		return &httpError{http.StatusServiceUnavailable, "too many slow renders still running, try again", err}
	case errors.Is(err, resolve.ErrNotReady):
		return &httpError{http.StatusServiceUnavailable, "catalog not loaded yet", err}
	case errors.Is(err, storage.ErrUnavailable):
		return &httpError{http.StatusServiceUnavailable, storage.UnavailableMessage(err), err}
	case errors.Is(err, inventory.ErrTransition), errors.Is(err, inventory.ErrState), errors.Is(err, inventory.ErrUnknown):
		// a report the machine's state refuses (409), or that names no
		// machine or state (400): the lifecycle's own mapping
		return &httpError{lifecycle.Status(err), err.Error(), err}
	}
	return &httpError{http.StatusInternalServerError, "internal error, see the server log", err}
}

// writeError answers a boot endpoint's error as short text and records the
// cause for the request log.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	he := toHTTP(err)
	if info := infoFrom(w); info != nil {
		info.err = he.Err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(he.Code)
	fmt.Fprintln(w, he.Msg)
}
