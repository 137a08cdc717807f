// Package strictjson decodes one JSON object the way the catalog wants it:
// unknown fields are errors (a misspelled "ignition_id" must not be
// silently dropped) and so is anything after the object.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/provisiond/provisiond/internal/invalid"
)

// ErrTrailing is returned when data continues after the JSON value.
var ErrTrailing = errors.New("trailing data after the JSON object")

// ErrUnknownField is matched (errors.Is) by the error for a field that the
// object does not have.
var ErrUnknownField = errors.New("unknown field")

// Decode decodes data into v, refusing unknown fields and trailing data.
// Syntax and type errors keep encoding/json's message and type (with their
// byte offset, so callers can point at a line and column); a type error and
// an unknown field are also an *invalid.FieldError naming the field, and an
// unknown field matches ErrUnknownField.
func Decode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return typed(err)
	}
	// Decoder.More is false for a trailing ']' or '}', so look at the rest.
	if rest := bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return ErrTrailing
	}
	return nil
}

// unknownPrefix starts encoding/json's error for an unknown field, which has
// no type of its own: this is the one place that reads its message, to give
// it one.
const unknownPrefix = "json: unknown field "

// typed returns err with the field it is about, when it names one.
func typed(err error) error {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		return invalid.Field(typ.Field, err)
	}
	if msg := err.Error(); strings.HasPrefix(msg, unknownPrefix) {
		name, uerr := strconv.Unquote(msg[len(unknownPrefix):])
		if uerr != nil {
			name = ""
		}
		return invalid.Field(name, &unknownFieldError{err})
	}
	return err
}

// unknownFieldError is encoding/json's unknown field error, matching
// ErrUnknownField.
type unknownFieldError struct{ err error }

func (e *unknownFieldError) Error() string        { return e.err.Error() }
func (e *unknownFieldError) Unwrap() error        { return e.err }
func (e *unknownFieldError) Is(target error) bool { return target == ErrUnknownField }
