package catalog

import (
	"fmt"
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

// TestTrialFindsTheOddGroupAmongMany: in a matchbox-layout catalog of
// many per-machine groups (each selecting its mac, no registered
// machines: the shapes trialRenders computes from the group alone), the
// one group whose hostname breaks the Butane YAML, and the one whose
// metadata lacks a key the generic template uses, are both found and
// named, wherever they are among the others.
func TestTrialFindsTheOddGroupAmongMany(t *testing.T) {
	files := base()
	delete(files, "groups/a.json")
	delete(files, "groups/b.json")
	files["ignition/i.yaml"] = "variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n    - path: /etc/hostname\n      contents:\n        inline: {{ .hostname }}\n"
	files["generic/g.txt"] = "rack={{ .rack }}\n"
	for i := range 400 {
		md := fmt.Sprintf(`{"hostname":"node-%06d","rack":"r%02d"}`, i, i/40)
		switch i {
		case 277:
			md = `{"hostname":"node: 277","rack":"r06"}`
		case 311:
			md = `{"hostname":"node-000311"}`
		}
		files[fmt.Sprintf("groups/m%06d.json", i)] = fmt.Sprintf(`{"id":"m%06d","profile":"p","selector":{"mac":"52:54:00:00:%02x:%02x"},"metadata":%s}`, i, i/256, i%256, md)
	}
	_, _, err := load(t, files)
	if err == nil || !strings.Contains(err.Error(), "group m000277") || !strings.Contains(err.Error(), "m000311") || !strings.Contains(err.Error(), "rack") {
		t.Fatalf("want the catalog refused naming groups m000277 (its hostname) and m000311 (no rack), got %v", err)
	}
}
