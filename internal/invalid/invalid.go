// Package invalid holds the typed validation errors that every layer
// returns and every transport maps: a FieldError carries the field (a JSON
// path) an error is about, a ConflictError names the two objects that
// conflict. Transports choose statuses with errors.As on these types and
// errors.Is on the packages' sentinels, never by reading a message: see
// admin.toAPI and server.toHTTP.
//
// The types keep the message of the error they wrap, so adding one to an
// existing error changes what callers can test, not what users read.
package invalid

import (
	"errors"
	"strings"
)

// FieldError is an error about one field of an object: Field is its JSON
// path relative to the object the enclosing error is about ("selector.mac",
// "leases.services", "groups[2]"). FieldErrors nest: FieldOf joins the
// fields of a chain with dots.
type FieldError struct {
	Field string
	Err   error
	// Named reports that Err's message names the field already, so Error
	// returns it unchanged. When false (the zero value, for a path that
	// the message does not mention, like "groups[2]"), Error prefixes the
	// message with the field.
	Named bool
}

func (e *FieldError) Error() string {
	if e.Named {
		return e.Err.Error()
	}
	return e.Field + ": " + e.Err.Error()
}

func (e *FieldError) Unwrap() error { return e.Err }

// Field returns err as being about field, whose name err's message already
// carries. A nil err stays nil.
func Field(field string, err error) error {
	if err == nil {
		return nil
	}
	return &FieldError{Field: field, Err: err, Named: true}
}

// FieldOf returns the path of the field err is about, joining the fields
// of the FieldErrors in its chain, outermost first; "" when there is none.
func FieldOf(err error) string {
	var path []string
	for {
		var fe *FieldError
		if !errors.As(err, &fe) {
			break
		}
		if fe.Field != "" {
			path = append(path, fe.Field)
		}
		err = fe.Err
	}
	return strings.Join(path, ".")
}

// ConflictError is an object that cannot be written because of another
// one: two groups with identical selectors, two machines that register the
// same mac or pin the same address, overlapping pools. A and B name the
// objects ("groups/a", "machines/node1.json"), in the order the message
// names them.
type ConflictError struct {
	A, B string
	Err  error
}

func (e *ConflictError) Error() string { return e.Err.Error() }
func (e *ConflictError) Unwrap() error { return e.Err }

// Conflict returns err as a conflict between a and b.
func Conflict(a, b string, err error) error {
	return &ConflictError{A: a, B: b, Err: err}
}
