package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/internal/httperr"
	"github.com/provisiond/provisiond/internal/invalid"
	"github.com/provisiond/provisiond/internal/strictjson"
	"github.com/provisiond/provisiond/lifecycle"
)

// apiError is an admin API failure: what the client is told (Code, Msg,
// Field) apart from the cause that is logged (Err).
type apiError struct {
	Code  int
	Msg   string
	Field string
	Err   error
}

func (e *apiError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Code, e.Msg, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Code, e.Msg)
}

func (e *apiError) Unwrap() error { return e.Err }

// ErrorBody is the JSON body of every admin API error.
type ErrorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// toAPI maps an error to what an admin client is told. It is the one place
// where the admin API chooses statuses for errors, by the error's type or
// sentinel, never by its message; a sentinel's status is httperr.Table's,
// which the boot server shares. The field is the path of the
// invalid.FieldErrors in its chain:
//   - 400: the body or query cannot be read (malformed JSON, bad mac);
//   - 409: the write conflicts with another object (*invalid.ConflictError)
//     or a held lease (storage.ErrConflict);
//   - 412: a precondition (If-Match, If-None-Match) failed;
//   - 413: the body is too large;
//   - 422: the content is invalid (unknown field, wrong type, missing
//     reference, template or Butane error);
//   - 403: the group's pool is limited to registered machines and the
//     machine is not registered (catalog.ErrNotRegistered);
//   - 404: no such object, no matching group, no template of the kind;
//   - 503: a pool is exhausted, renders are busy, the store unavailable
//     or the catalog not loaded yet;
//   - 500: anything else (the client is told to see the log).
func toAPI(err error) *apiError {
	var ae *apiError
	var re *renderError
	var de *deleteError
	var le *lifecycleError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &le):
		return &apiError{Code: lifecycle.Status(le.err), Msg: le.err.Error(), Err: err}
	case errors.As(err, &de):
		inner := toAPI(de.err)
		if errors.Is(de.err, catalog.ErrInvalid) {
			// The catalog without the object is invalid: others
			// need it. The field named is theirs, not the client's.
			return &apiError{Code: http.StatusConflict, Msg: de.ref + " is still needed: " + inner.Msg, Err: err}
		}
		c := *inner
		c.Err = err
		return &c
	case errors.As(err, &re):
		inner := toAPI(re.err)
		if inner.Code == http.StatusInternalServerError {
			// A boot would get a 500 and the cause in the log; the
			// operator asking here gets the cause.
			return &apiError{Code: http.StatusUnprocessableEntity, Msg: "rendering failed: " + re.err.Error(), Err: err}
		}
		c := *inner
		c.Err = err
		return &c
	}
	code, msg := apiStatus(err)
	return &apiError{Code: code, Msg: msg, Field: invalid.FieldOf(err), Err: err}
}

// renderError is a failure to render what /api/v1/render previews.
type renderError struct{ err error }

func (e *renderError) Error() string { return e.err.Error() }
func (e *renderError) Unwrap() error { return e.err }

// deleteError is a refused delete of ref.
type deleteError struct {
	ref string
	err error
}

func (e *deleteError) Error() string { return e.err.Error() }
func (e *deleteError) Unwrap() error { return e.err }

// apiStatus is toAPI's choice of status and client message.
func apiStatus(err error) (int, string) {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	var conflict *invalid.ConflictError
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", mbe.Limit)
	case errors.Is(err, io.EOF):
		return http.StatusBadRequest, "empty body: want a JSON object"
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, strictjson.ErrTrailing):
		return http.StatusBadRequest, "malformed JSON: " + err.Error()
	case errors.As(err, &typ), errors.Is(err, strictjson.ErrUnknownField):
		return http.StatusUnprocessableEntity, err.Error()
	case errors.As(err, &conflict):
		return http.StatusConflict, err.Error()
	}
	k, ok := httperr.Lookup(err, true)
	if !ok {
		return http.StatusInternalServerError, "internal error, see the server log"
	}
	switch k.Err {
	case catalog.ErrNotRegistered:
		return k.Status, "refused: the group's pool is limited to registered machines: " + err.Error()
	case catalog.ErrNoMatch:
		return k.Status, "no group matches these facts (GET /api/v1/select explains why)"
	}
	return k.Status, k.Message(err)
}

// writeAPIError answers err as {"error": ..., "field": ...} and records the
// cause for the request log.
func writeAPIError(w http.ResponseWriter, r *http.Request, err error) {
	ae := toAPI(err)
	if info := infoFrom(r.Context()); info != nil {
		info.err = ae
	}
	if ae.Code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="provisiond"`)
	}
	msg := ae.Msg
	if ae.Code == http.StatusInternalServerError {
		msg = "internal error, see the server log"
	}
	writeJSON(w, ae.Code, ErrorBody{Error: msg, Field: ae.Field})
}
