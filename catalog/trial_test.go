package catalog

import (
	"strings"
	"testing"
)

func TestDataShape(t *testing.T) {
	same := [][2]any{
		{map[string]any{"hostname": "node-000001"}, map[string]any{"hostname": "node-999999"}},
		{map[string]any{"mac": "52:54:00:00:00:01"}, map[string]any{"mac": "52:54:00:00:01:00"}},
		{map[string]any{"ip": "10.0.0.1/24"}, map[string]any{"ip": "192.168.10.200/16"}},
	}
	for _, tc := range same {
		if a, b := dataShape(tc[0]), dataShape(tc[1]); a != b {
			t.Errorf("%v and %v: shapes %x and %x differ", tc[0], tc[1], a, b)
		}
	}
	differ := [][2]any{
		{map[string]any{"hostname": "node1"}, map[string]any{"hostname": "node: 1"}},
		{map[string]any{"hostname": "node1"}, map[string]any{"hostname": "node\n1"}},
		{map[string]any{"hostname": "node1"}, map[string]any{"hostname": "true"}},
		{map[string]any{"mode": "0644"}, map[string]any{"mode": "rw"}},
		{map[string]any{"path": "/etc/x"}, map[string]any{"path": "etc/x"}},
		{map[string]any{"a": "x"}, map[string]any{"b": "x"}},
		{map[string]any{"n": 1}, map[string]any{"n": 2}},
		{map[string]any{"l": []any{"a"}}, map[string]any{"l": []any{"a", "b"}}},
	}
	for _, tc := range differ {
		if a, b := dataShape(tc[0]), dataShape(tc[1]); a == b {
			t.Errorf("%v and %v: same shape %x", tc[0], tc[1], a)
		}
	}
}

// TestTrialRendersEveryShape: groups that share a template are checked
// once per data shape, so a group whose value breaks the YAML is refused
// even when a group checked before it, with a plain value, passed.
func TestTrialRendersEveryShape(t *testing.T) {
	files := base()
	files["ignition/i.yaml"] = "variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n    - path: /etc/hostname\n      contents:\n        inline: {{ .hostname }}\n"
	files["groups/a.json"] = `{"id":"a","profile":"p","selector":{"role":"a"},"metadata":{"hostname":"node-1"}}`
	files["groups/b.json"] = `{"id":"b","profile":"p","selector":{"role":"b"},"metadata":{"hostname":"node-2"}}`
	files["groups/c.json"] = `{"id":"c","profile":"p","selector":{"role":"c"},"metadata":{"hostname":"x\n    - bad: [yaml"}}`
	_, _, err := load(t, files)
	if err == nil || !strings.Contains(err.Error(), "group c") {
		t.Fatalf("want the catalog refused naming group c, got %v", err)
	}
}
