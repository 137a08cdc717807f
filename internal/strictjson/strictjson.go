// Package strictjson decodes one JSON object the way the catalog wants it:
// unknown fields are errors (a misspelled "ignition_id" must not be
// silently dropped) and so is anything after the object.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
)

// ErrTrailing is returned when data continues after the JSON value.
var ErrTrailing = errors.New("trailing data after the JSON object")

// Decode decodes data into v, refusing unknown fields and trailing data.
// Syntax and type errors are returned as encoding/json reports them (with
// their byte offset), so callers can point at a line and column.
func Decode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	// Decoder.More is false for a trailing ']' or '}', so look at the rest.
	if rest := bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return ErrTrailing
	}
	return nil
}
