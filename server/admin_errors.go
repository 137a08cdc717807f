package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/internal/strictjson"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
	"github.com/provisiond/provisiond/storage"
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

// conflictPhrases mark the catalog validation errors that are conflicts
// between two objects (409) rather than one invalid object (422).
var conflictPhrases = []string{"identical selectors", "both register", "both pin", "pools overlap", "duplicate group id"}

// toAPI maps an error to what an admin client is told. It is the one place
// where the admin API chooses statuses for errors:
//   - 400: the body or query cannot be read (malformed JSON, bad mac);
//   - 409: the write conflicts with another object or a held lease;
//   - 412: a precondition (If-Match, If-None-Match) failed;
//   - 422: the content is invalid (unknown field, missing reference,
//     template or Butane error);
//   - 503: a pool is exhausted or the store unavailable.
func toAPI(err error) *apiError {
	var ae *apiError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	var de *catalog.DocumentError
	msg := err.Error()
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &de):
		inner := *toAPI(de.Err)
		inner.Msg = de.Field + ": " + inner.Msg
		if inner.Field != "" {
			inner.Field = de.Field + "." + inner.Field
		} else {
			inner.Field = de.Field
		}
		inner.Err = err
		return &inner
	case errors.As(err, &mbe):
		return &apiError{Code: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("body larger than %d bytes", mbe.Limit), Err: err}
	case errors.Is(err, io.EOF):
		return &apiError{Code: http.StatusBadRequest, Msg: "empty body: want a JSON object", Err: err}
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, strictjson.ErrTrailing):
		return &apiError{Code: http.StatusBadRequest, Msg: "malformed JSON: " + msg, Err: err}
	case errors.As(err, &typ):
		return &apiError{Code: http.StatusUnprocessableEntity, Msg: msg, Field: typ.Field, Err: err}
	case strings.HasPrefix(msg, "json: unknown field"):
		return &apiError{Code: http.StatusUnprocessableEntity, Msg: msg, Field: fieldOf(msg), Err: err}
	case errors.Is(err, storage.ErrConflict):
		return &apiError{Code: http.StatusConflict, Msg: msg, Field: fieldOf(msg), Err: err}
	case errors.Is(err, catalog.ErrInvalid):
		code := http.StatusUnprocessableEntity
		for _, p := range conflictPhrases {
			if strings.Contains(msg, p) {
				code = http.StatusConflict
			}
		}
		return &apiError{Code: code, Msg: msg, Field: fieldOf(msg), Err: err}
	case errors.Is(err, groups.ErrInvalid), errors.Is(err, profiles.ErrInvalid),
		errors.Is(err, ipam.ErrInvalid), errors.Is(err, catalog.ErrInvalidMachine):
		return &apiError{Code: http.StatusUnprocessableEntity, Msg: msg, Field: fieldOf(msg), Err: err}
	case errors.Is(err, groups.ErrBadMAC), errors.Is(err, groups.ErrBadUUID), errors.Is(err, groups.ErrBadLabels):
		return &apiError{Code: http.StatusBadRequest, Msg: msg, Err: err}
	case errors.Is(err, storage.ErrNotFound):
		return &apiError{Code: http.StatusNotFound, Msg: msg, Err: err}
	}
	he := toHTTP(err)
	return &apiError{Code: he.Code, Msg: he.Msg, Err: err}
}

// fieldPatterns find the field an error message is about, in the wordings
// of the decoders and of catalog validation.
var fieldPatterns = []*regexp.Regexp{
	regexp.MustCompile(`unknown field "([^"]+)"`),
	regexp.MustCompile(`(selector) "([^"]+)": value`),
	regexp.MustCompile(`(?:^|: )(selector (?:mac|uuid)|leases\.[^:\s]+|labels|mac|uuid|cidr|start|end|gateway|dns\[\d+\]|reserved\[\d+\]|ignition_id|cloud_id|generic_id|boot\.[a-z]+(?:\[\d+\])?)(?::| )`),
	regexp.MustCompile(`(?:^|: )(profile|pool) "[^"]*": no such`),
	regexp.MustCompile(`\b(id|name|profile) is required`),
	regexp.MustCompile(`\b(id|name) "[^"]*" does not match`),
}

func fieldOf(msg string) string {
	for i, re := range fieldPatterns {
		m := re.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		if i == 1 {
			return "selector." + m[2]
		}
		return strings.ReplaceAll(m[1], " ", ".")
	}
	return ""
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
