package catalog

import (
	"errors"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/internal/testutil"
	"github.com/provisiond/provisiond/ipam"
)

func writeDir(t *testing.T, files map[string]string) string {
	return testutil.WriteFiles(t, files)
}

// base is a valid catalog that each bad case spoils in one place.
func base() map[string]string {
	return map[string]string{
		"profiles/p.json":     `{"id":"p","boot":{"kernel":"/k"},"ignition_id":"i.yaml","cloud_id":"c.yaml","generic_id":"g.txt"}`,
		"groups/a.json":       `{"id":"a","profile":"p","selector":{"role":"a"}}`,
		"groups/b.json":       `{"id":"b","profile":"p","selector":{"role":"b"},"pool":"net"}`,
		"ignition/i.yaml":     "variant: flatcar\nversion: 1.0.0\n",
		"cloud/c.yaml":        "#cloud-config\n",
		"generic/g.txt":       "x={{ .role }}\n",
		"pools/net.json":      `{"name":"net","cidr":"10.0.0.0/24","start":"10.0.0.10","end":"10.0.0.20","gateway":"10.0.0.1"}`,
		"machines/m1.json":    `{"name":"m1","mac":"52:54:00:00:00:01","labels":{"role":"b"},"leases":{"net":"10.0.0.10"}}`,
		"machines/m2.json":    `{"name":"m2","mac":"52:54:00:00:00:02","labels":{"role":"b"}}`,
		"ignition/.hidden.sw": "ignored",
	}
}

func load(t *testing.T, files map[string]string) (*Snapshot, []string, error) {
	t.Helper()
	c, err := LoadDir(writeDir(t, files))
	if err != nil {
		return nil, nil, err
	}
	return Compile(c, ipam.NewTable(nil), Options{})
}

func TestLoadValid(t *testing.T) {
	s, warnings, err := load(t, base())
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %v", warnings)
	}
	if s.Index.Len() != 2 || len(s.Catalog.Machines) != 2 || len(s.Catalog.Templates["ignition"]) != 1 {
		t.Errorf("loaded %d groups, %d machines, %v", s.Index.Len(), len(s.Catalog.Machines), s.Catalog.Templates)
	}
}

func TestLoadRefusesBadCatalogs(t *testing.T) {
	tests := []struct {
		name   string
		change map[string]string // "" deletes the file
		want   []string          // substrings of the error
	}{
		{"group names missing pool", map[string]string{"groups/a.json": `{"id":"a","profile":"p","pool":"nope"}`}, []string{"groups/a.json", `pool "nope"`}},
		{"non-string selector", map[string]string{"groups/a.json": `{"id":"a","profile":"p","selector":{"role":1}}`}, []string{"groups/a.json", `"role"`, "not a string"}},
		{"bool selector", map[string]string{"groups/a.json": `{"id":"a","profile":"p","selector":{"ok":true}}`}, []string{"groups/a.json", `"ok"`}},
		{"unknown group field", map[string]string{"groups/a.json": `{"id":"a","profile":"p","selecter":{}}`}, []string{"groups/a.json", "selecter"}},
		{"unknown profile field", map[string]string{"profiles/p.json": `{"id":"p","boot":{"kernel":"/k"},"ignitionid":"x"}`}, []string{"profiles/p.json", "ignitionid"}},
		{"json syntax", map[string]string{"groups/a.json": "{\n  \"id\": \"a\",\n  \"profile\": \"p\"\n  \"x\": 1\n}"}, []string{"groups/a.json:4:"}},
		{"duplicate group id", map[string]string{"groups/c.json": `{"id":"a","profile":"p","selector":{"role":"c"}}`}, []string{"groups/a.json", "groups/c.json", `"a"`}},
		{"identical selectors", map[string]string{"groups/c.json": `{"id":"c","profile":"p","selector":{"ROLE":"a"}}`}, []string{"groups/a.json", "groups/c.json", "identical"}},
		{"two defaults", map[string]string{"groups/c.json": `{"id":"c","profile":"p"}`, "groups/d.json": `{"id":"d","profile":"p"}`}, []string{"groups/c.json", "groups/d.json", "identical"}},
		{"bad selector mac", map[string]string{"groups/a.json": `{"id":"a","profile":"p","selector":{"mac":"xx"}}`}, []string{"groups/a.json", "mac"}},
		{"template syntax", map[string]string{"generic/g.txt": "a\n{{ if }}\n"}, []string{"generic/g.txt", "g.txt:2"}},
		{"boot field syntax", map[string]string{"profiles/p.json": `{"id":"p","boot":{"kernel":"/k","args":["{{ .x"]}}`}, []string{"profiles/p.json", "boot.args[0]"}},
		{"butane does not translate", map[string]string{"ignition/i.yaml": "variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n    - path: relative\n"}, []string{"ignition/i.yaml", "group", "absolute"}},
		{"butane unknown key", map[string]string{"ignition/i.yaml": "variant: flatcar\nversion: 1.0.0\nstorage:\n  filez: []\n"}, []string{"ignition/i.yaml", "filez", "line 4"}},
		{"raw ignition invalid", map[string]string{"profiles/p.json": `{"id":"p","boot":{"kernel":"/k"},"ignition_id":"r.ign"}`, "ignition/r.ign": `{"ignition":{"version":"2.2.0"}}`}, []string{"ignition/r.ign", "3.x"}},
		{"raw ignition empty version", map[string]string{"profiles/p.json": `{"id":"p","boot":{"kernel":"/k"},"ignition_id":"r.ign"}`, "ignition/r.ign": `{}`}, []string{"ignition/r.ign", "version"}},
		{"pool bad cidr", map[string]string{"pools/net.json": `{"name":"net","cidr":"10.0.0.0/33","start":"10.0.0.10","end":"10.0.0.20"}`}, []string{"pools/net.json", "cidr"}},
		{"pool start outside", map[string]string{"pools/net.json": `{"name":"net","cidr":"10.0.0.0/24","start":"10.0.1.10","end":"10.0.0.20"}`}, []string{"pools/net.json", "start", "outside"}},
		{"pools overlap", map[string]string{"pools/other.json": `{"name":"other","cidr":"10.0.0.128/25","start":"10.0.0.130","end":"10.0.0.140"}`}, []string{"pools/net.json", "pools/other.json", "overlap"}},
		{"pin outside pool", map[string]string{"machines/m2.json": `{"name":"m2","mac":"52:54:00:00:00:02","leases":{"net":"10.0.9.9"}}`}, []string{"machines/m2.json", "pools/net.json", "outside"}},
		{"pin collision", map[string]string{"machines/m2.json": `{"name":"m2","mac":"52:54:00:00:00:02","leases":{"net":"10.0.0.10"}}`}, []string{"machines/m1.json", "machines/m2.json", "10.0.0.10"}},
		{"pin on gateway", map[string]string{"machines/m2.json": `{"name":"m2","mac":"52:54:00:00:00:02","leases":{"net":"10.0.0.1"}}`}, []string{"machines/m2.json", "gateway"}},
		{"pin on broadcast", map[string]string{"machines/m2.json": `{"name":"m2","mac":"52:54:00:00:00:02","leases":{"net":"10.0.0.255"}}`}, []string{"machines/m2.json", "broadcast"}},
		{"pin in unknown pool", map[string]string{"machines/m2.json": `{"name":"m2","mac":"52:54:00:00:00:02","leases":{"nope":"10.0.0.12"}}`}, []string{"machines/m2.json", "nope"}},
		{"duplicate mac", map[string]string{"machines/m2.json": `{"name":"m2","mac":"52-54-00-00-00-01"}`}, []string{"machines/m1.json", "machines/m2.json", "52:54:00:00:00:01"}},
		{"machine without identity", map[string]string{"machines/m2.json": `{"name":"m2"}`}, []string{"machines/m2.json", "mac or uuid"}},
		{"machine label mac", map[string]string{"machines/m2.json": `{"name":"m2","mac":"52:54:00:00:00:02","labels":{"mac":"x"}}`}, []string{"machines/m2.json", "identity"}},
		{"group with empty id", map[string]string{"groups/c.json": `{"id":"","profile":"p","selector":{"role":"c"}}`}, []string{"groups/c.json", "id is required"}},
		{"file name taken as id collides", map[string]string{"groups/a2.json": `{"profile":"p","selector":{"role":"c"}}`, "groups/c.json": `{"id":"a2","profile":"p","selector":{"role":"d"}}`}, []string{"groups/a2.json", "groups/c.json", `"a2"`}},
		{"subdirectory in pools", map[string]string{"pools/sub/x.json": `{}`}, []string{"pools/sub", "directory"}},
		{"wrong extension in machines", map[string]string{"machines/m3.yaml": `name: m3`}, []string{"machines/m3.yaml", ".json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := base()
			for p, v := range tc.change {
				if v == "" {
					delete(files, p)
				} else {
					files[p] = v
				}
			}
			_, _, err := load(t, files)
			if err == nil {
				t.Fatal("catalog accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	files := base()
	files["groups/a.json"] = `{"id":"a","profile":"p","selector":{"role":"a"},"metadata":{"request":"x","server":"y"}}`
	files["ignition/i.yaml"] = "variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n    - path: /{{ .request.query.name }}\n"
	_, warnings, err := load(t, files)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(warnings, "\n")
	for _, want := range []string{`"request" is shadowed`, `"server" is shadowed`, "needs request data"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
}

func TestResolve(t *testing.T) {
	s, _, err := load(t, base())
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Resolve(map[string]string{"mac": "52:54:00:00:00:01", "role": "a"})
	if err != nil || m.Group.ID != "b" || m.Machine.Name != "m1" || m.Query["role"] != "a" || m.Facts["role"] != "b" {
		t.Fatalf("registered machine: %+v %v", m, err)
	}
	m, err = s.Resolve(map[string]string{"mac": "52:54:00:00:00:09", "role": "a"})
	if err != nil || m.Group.ID != "a" || m.Machine != nil {
		t.Fatalf("query labels: %+v %v", m, err)
	}
	if _, err := s.Resolve(map[string]string{"mac": "52:54:00:00:00:09"}); !errors.Is(err, ErrNoMatch) {
		t.Fatalf("no match: %v", err)
	}
}

func TestMembers(t *testing.T) {
	files := base()
	files["machines/m3.json"] = `{"name":"m3","mac":"52:54:00:00:00:03","labels":{"role":"b","rack":"r1"},"leases":{"net":"10.0.0.9"}}`
	files["machines/m4.json"] = `{"name":"m4","mac":"52:54:00:00:00:04","labels":{"role":"a"}}`
	c, err := LoadDir(writeDir(t, files))
	if err != nil {
		t.Fatal(err)
	}
	table := ipam.NewTable(nil)
	s, _, err := Compile(c, table, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Before leases exist: pinned addresses are known, m2 has none yet.
	ms, err := s.Members("role=b")
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, m := range ms {
		got = append(got, m["name"].(string)+"@"+m["ip"].(string))
	}
	if strings.Join(got, " ") != "m3@10.0.0.9 m1@10.0.0.10 m2@" {
		t.Errorf("members before leases: %v", got)
	}
	l := ipam.Lease{Pool: "net", MAC: "52:54:00:00:00:02"}
	l.Address = c.Pools["net"].First().Next()
	table.Put(l)
	ms, _ = s.Members("role=b")
	if len(ms) != 3 || ms[2]["ip"] != "10.0.0.11" {
		t.Errorf("members after a lease: %v", ms)
	}
	if ms, _ := s.Members("role=b,rack=r1"); len(ms) != 1 || ms[0]["name"] != "m3" {
		t.Errorf("two-key selector: %v", ms)
	}
	if _, err := s.Members("role"); err == nil {
		t.Errorf("bad selector accepted")
	}
}

func TestEtcdEvenMembersWarning(t *testing.T) {
	files := base()
	files["groups/b.json"] = `{"id":"b","profile":"p","selector":{"role":"b"},"pool":"net","etcd_cluster":true}`
	_, warnings, err := load(t, files)
	if err != nil {
		t.Fatal(err)
	}
	want := "etcd cluster of 2 members: quorum is 2 and it tolerates no failure, the same as 1 member; use 1 or 3"
	if !strings.Contains(strings.Join(warnings, "\n"), want) {
		t.Errorf("warnings %q lack %q", warnings, want)
	}
	files["machines/m3.json"] = `{"name":"m3","mac":"52:54:00:00:00:03","labels":{"role":"b"}}`
	_, warnings, _ = load(t, files)
	if strings.Contains(strings.Join(warnings, "\n"), "etcd cluster") {
		t.Errorf("3 members warned: %q", warnings)
	}
	files["machines/m4.json"] = `{"name":"m4","mac":"52:54:00:00:00:04","labels":{"role":"b"}}`
	_, warnings, _ = load(t, files)
	if !strings.Contains(strings.Join(warnings, "\n"), "4 members: quorum is 3 and it tolerates 1 failure, the same as 3 members") {
		t.Errorf("4 members: %q", warnings)
	}
}

// matchbox's own examples name group files apart from their ids
// (groups/install.json holds "id": "stage-0"), and find profiles by file
// name: both load, the profile mismatch with a warning.
func TestMatchboxIDs(t *testing.T) {
	files := base()
	delete(files, "groups/a.json")
	files["groups/install.json"] = `{"id":"stage-0","profile":"p","selector":{"role":"a"}}`
	files["profiles/p.json"] = `{"id":"other","boot":{"kernel":"/k"},"ignition_id":"i.yaml","cloud_id":"c.yaml","generic_id":"g.txt"}`
	s, warnings, err := load(t, files)
	if err != nil {
		t.Fatal(err)
	}
	if s.Index.Group("stage-0") == nil || s.Catalog.Profiles["p"] == nil || s.Catalog.Profiles["p"].ID != "p" {
		t.Errorf("groups %v, profiles %v", s.Index.Groups(), s.Catalog.Profiles)
	}
	if !strings.Contains(strings.Join(warnings, "\n"), `id "other" differs from the file name`) {
		t.Errorf("warnings %q", warnings)
	}
}
