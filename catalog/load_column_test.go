package catalog

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadJSONErrorColumn: a JSON mistake in a catalog file is reported
// at the line and column of the byte at fault, not one past it; an input
// that ends too early, just past its last byte.
func TestLoadJSONErrorColumn(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"stray comma", "{\n  \"id\": \"a\",\n  \"selector\": {,\n}", ":3:16: "},
		{"trailing comma", `{"id": "a", "profile": "p",}`, ":1:28: "},
		{"missing colon", `{"id" "a"}`, ":1:7: "},
		{"invalid last byte", `{"id": "a",,`, ":1:12: "},
		{"wrong type", "{\n\"id\": \"a\", \"profile\": \"p\", \"selector\": [1]}", ":2:40: "},
		{"cut short", "{\"id\": \"a\",\n \"profile\": \"p\"", ":2:16: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := base()
			files["groups/a.json"] = tc.json
			dir := writeDir(t, files)
			_, err := LoadDir(dir)
			if err == nil {
				t.Fatal("loaded")
			}
			if want := filepath.Join(dir, "groups", "a.json") + tc.want; !strings.Contains(err.Error(), want) {
				t.Errorf("got %v\nwant it to contain %q", err, want)
			}
		})
	}
}
