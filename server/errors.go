package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/internal/httperr"
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
// one place where the boot server chooses statuses for errors; the
// statuses themselves are httperr.Table's, which the admin API shares.
func toHTTP(err error) *httpError {
	var he *httpError
	if errors.As(err, &he) {
		return he
	}
	k, ok := httperr.Lookup(err, false)
	if !ok {
		return &httpError{http.StatusInternalServerError, "internal error, see the server log", err}
	}
	msg := k.Message(err)
	if k.Err == catalog.ErrNotRegistered {
		msg = "refused: the group's pool is limited to registered machines, and this machine is not registered"
	}
	return &httpError{k.Status, msg, err}
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
