package profiles

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// EnvFile flattens template data into sorted KEY=value lines, as /metadata
// serves them: keys upper-cased (any character but A-Z, 0-9 and _ becomes
// _, so a key can never break a line), nested maps joined with "_"
// (REQUEST_QUERY_MAC=...), lists joined with commas (matchbox drops them),
// nil as an empty value. Values never span lines: a newline in a value is
// written as \n so one value cannot forge another line.
func EnvFile(data map[string]any) []byte {
	var lines []string
	flatten(&lines, "", data)
	sort.Strings(lines)
	var buf bytes.Buffer
	for _, l := range lines {
		buf.WriteString(l)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

func flatten(lines *[]string, prefix string, v any) {
	switch val := v.(type) {
	case map[string]any:
		for k, x := range val {
			flatten(lines, prefix+k+"_", x)
		}
		return
	case map[string]string:
		for k, x := range val {
			flatten(lines, prefix+k+"_", x)
		}
		return
	}
	key := envKey(strings.TrimSuffix(prefix, "_"))
	*lines = append(*lines, key+"="+escapeEnv(scalar(v)))
}

func scalar(v any) string {
	if v == nil {
		return ""
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
		parts := make([]string, rv.Len())
		for i := range parts {
			parts[i] = scalar(rv.Index(i).Interface())
		}
		return strings.Join(parts, ",")
	}
	if rv.Kind() == reflect.Map {
		// A map inside a list: keep its JSON-ish %v form rather than drop it.
		return fmt.Sprintf("%v", v)
	}
	return fmt.Sprint(v)
}

func escapeEnv(s string) string {
	if !strings.ContainsAny(s, "\n\r") {
		return s
	}
	return strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)
}

// envKey upper-cases k and replaces every character that cannot appear in
// an environment variable name with '_'.
func envKey(k string) string {
	b := []byte(strings.ToUpper(k))
	for i, c := range b {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}
