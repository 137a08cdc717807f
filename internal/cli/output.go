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
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(v); err != nil {
			return err
		}
		return enc.Close()
	}
	return Usagef("-o %q: want table, json or yaml", format)
}
