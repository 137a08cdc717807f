package profiles

import (
	"errors"
	"github.com/provisiond/provisiond/groups"
	"strings"
	"testing"
)

func TestTemplateFuncs(t *testing.T) {
	members := func(sel string) ([]Member, error) {
		if sel != "role=services" {
			return nil, nil
		}
		return []Member{
			{"name": "node1", "ip": "10.0.0.101"},
			{"name": "node2", "ip": "10.0.0.102"},
		}, nil
	}
	data := map[string]any{
		"list":  []any{"a", "b", "c"},
		"strs":  []string{"x", "y"},
		"empty": "",
		"name":  "node1",
		"ip":    map[string]any{"dns": []any{"10.0.0.1", "1.1.1.1"}},
	}
	tests := []struct{ text, want string }{
		{`{{ join .list "," }}`, "a,b,c"},
		{`{{ join .strs " " }}`, "x y"},
		{`{{ join .ip.dns "," }}`, "10.0.0.1,1.1.1.1"},
		{`{{ default "none" .empty }}`, "none"},
		{`{{ default "none" .name }}`, "node1"},
		{`{{ default "none" (index . "absent") }}`, "none"},
		{`{{ quote "a\"b" }}`, `"a\"b"`},
		{`{{ range $i, $m := members "role=services" }}{{ if $i }},{{ end }}{{ $m.name }}=http://{{ $m.ip }}:2380{{ end }}`,
			"node1=http://10.0.0.101:2380,node2=http://10.0.0.102:2380"},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			tm, err := Compile("t", tc.text, members)
			if err != nil {
				t.Fatal(err)
			}
			out, err := tm.Execute(data, 0)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want {
				t.Errorf("got %q, want %q", out, tc.want)
			}
		})
	}
}

func TestTemplateMissingKeyIsError(t *testing.T) {
	tm, err := Compile("t", "{{ .nosuch }}", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tm.Execute(map[string]any{}, 0); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Fatalf("err = %v, want a missing key error naming nosuch", err)
	}
}

func TestTemplateOutputLimit(t *testing.T) {
	tm, err := Compile("big", `{{ range .n }}0123456789{{ end }}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := make([]int, 1000)
	if _, err := tm.Execute(map[string]any{"n": n}, 5000); !errors.Is(err, ErrOutputTooLarge) {
		t.Fatalf("err = %v, want ErrOutputTooLarge", err)
	}
	out, err := tm.Execute(map[string]any{"n": n[:10]}, 5000)
	if err != nil || len(out) != 100 {
		t.Fatalf("small render: %d bytes, %v", len(out), err)
	}
}

func TestCompileErrorHasLine(t *testing.T) {
	_, err := Compile("worker.yaml", "a\nb\n{{ if }}\n", nil)
	if err == nil || !strings.Contains(err.Error(), "worker.yaml:3") {
		t.Fatalf("err = %v, want it to name worker.yaml:3", err)
	}
}

func TestUsesMembers(t *testing.T) {
	a, _ := Compile("a", `{{ members "role=x" }}`, nil)
	b, _ := Compile("b", `{{ .x }}`, nil)
	if !a.UsesMembers || b.UsesMembers {
		t.Fatalf("UsesMembers: a=%v b=%v", a.UsesMembers, b.UsesMembers)
	}
}

func TestData(t *testing.T) {
	in := Input{
		Metadata:  groups.MetadataOf(map[string]any{"etcd_name": "node1", "role": "from-metadata", "request": "shadowed", "ip": "metadata-ip"}),
		Selector:  groups.SelectorOf(map[string]string{"role": "services"}),
		Query:     map[string]string{"mac": "52:54:00:89:d8:10"},
		RawQuery:  "mac=52-54-00-89-d8-10",
		ServerURL: "http://10.0.2.2:8080",
		Machine:   MachineData{Name: "node1", MAC: "52:54:00:89:d8:10", Labels: map[string]string{"cabinet": "one"}},
	}
	d := Data(in)
	if d["role"] != "services" {
		t.Errorf("selector must win over metadata: role = %v", d["role"])
	}
	if d["etcd_name"] != "node1" {
		t.Errorf("etcd_name = %v", d["etcd_name"])
	}
	req := d["request"].(map[string]any)
	if req["raw_query"] != "mac=52-54-00-89-d8-10" || req["query"].(map[string]any)["mac"] != "52:54:00:89:d8:10" {
		t.Errorf("request = %v", req)
	}
	if d["server"].(map[string]any)["url"] != "http://10.0.2.2:8080" {
		t.Errorf("server = %v", d["server"])
	}
	if d["machine"].(map[string]any)["labels"].(map[string]any)["cabinet"] != "one" {
		t.Errorf("machine = %v", d["machine"])
	}
	if d["ip"] != "metadata-ip" {
		t.Errorf("without a pool, metadata ip must be kept: %v", d["ip"])
	}
	in.IP = map[string]any{"address": "10.0.0.101"}
	if Data(in)["ip"].(map[string]any)["address"] != "10.0.0.101" {
		t.Errorf("with a lease, .ip must be the lease")
	}
	if _, ok := MetadataData(in)["server"]; ok {
		t.Errorf("metadata must not carry server")
	}
}
