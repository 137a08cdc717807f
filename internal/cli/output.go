package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"gopkg.in/yaml.v3"
)

// printWarnings copies the server's warnings to w.
func printWarnings(w io.Writer, h http.Header) {
	for _, v := range h.Values("X-Provisiond-Warning") {
		fmt.Fprintf(w, "warning: %s\n", v)
	}
	if v := h.Get("Warning"); v != "" {
		fmt.Fprintf(w, "warning: %s\n", v)
	}
}

// printStructured prints raw JSON as indented JSON or as YAML.
func printStructured(w io.Writer, format Output, raw []byte) error {
	switch format {
	case "json":
		var buf bytes.Buffer
		if err := json.Indent(&buf, bytes.TrimSpace(raw), "", "  "); err != nil {
			return err
		}
		buf.WriteByte('\n')
		_, err := w.Write(buf.Bytes())
		return err
	case "yaml":
		// Numbers stay as written (a Unix time is not 1.79e+09).
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return err
		}
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(numbers(v)); err != nil {
			return err
		}
		return enc.Close()
	}
	return Usagef("-o %q: want table, json or yaml", format)
}

// numbers replaces the json.Numbers of a decoded JSON value with int64s
// (or float64s when not integers), which YAML writes unquoted.
func numbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case []any:
		for i := range v {
			v[i] = numbers(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = numbers(v[k])
		}
	}
	return v
}
