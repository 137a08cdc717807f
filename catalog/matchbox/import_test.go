package matchbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// write creates a matchbox data directory from name -> content.
func write(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// base is a matchbox directory where an installer group catches every
// machine of role=worker and a default group every other machine.
var base = map[string]string{
	"profiles/install.json":   `{"id":"install","boot":{"kernel":"/k"}}`,
	"profiles/installed.json": `{"id":"installed","boot":{"kernel":"/k2"}}`,
	"groups/install.json":     `{"id":"install","profile":"install","selector":{"role":"worker"}}`,
}

func with(extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

func TestImportRefusesSilentFallthrough(t *testing.T) {
	tests := []struct {
		name    string
		extra   map[string]string
		file    string // the group left out
		fallsTo string // "" when its machines match nothing
		reason  string
	}{
		{"missing profile", map[string]string{
			"groups/installed.json": `{"id":"installed","profile":"gone","selector":{"role":"worker","os":"installed"}}`,
		}, "groups/installed.json", "install", `profile "gone" does not exist`},
		{"selector value not a string", map[string]string{
			"groups/rack.json": `{"id":"rack","profile":"installed","selector":{"role":"worker","rack":5}}`,
		}, "groups/rack.json", "install", `selector "rack" is 5, not a string`},
		{"bad mac", map[string]string{
			"groups/node.json": `{"id":"node","profile":"installed","selector":{"mac":"nope","role":"worker"}}`,
		}, "groups/node.json", "install", "selector mac"},
		{"not JSON", map[string]string{
			"groups/broken.json": `{"id":"broken",`,
		}, "groups/broken.json", "", "unexpected end of JSON input"},
		{"same selector as another group", map[string]string{
			"groups/worker2.json": `{"id":"worker2","profile":"installed","selector":{"role":"worker"}}`,
		}, "groups/worker2.json", "install", `same selector {role=worker} as group "install"`},
		{"falls to the default group", map[string]string{
			"groups/default.json": `{"id":"default","profile":"installed"}`,
			"groups/lost.json":    `{"id":"lost","profile":"gone","selector":{"role":"db"}}`,
		}, "groups/lost.json", "default", `profile "gone"`},
		{"falls to nothing", map[string]string{
			"groups/lost.json": `{"id":"lost","profile":"gone","selector":{"role":"db"}}`,
		}, "groups/lost.json", "", `profile "gone"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Import(write(t, with(tc.extra)))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Skipped) != 1 {
				t.Fatalf("skipped %+v, want %s only", res.Skipped, tc.file)
			}
			s := res.Skipped[0]
			if s.File != tc.file || s.FallsTo != tc.fallsTo || !strings.Contains(s.Reason, tc.reason) {
				t.Errorf("skipped %+v, want file %s, falls to %q, reason with %q", s, tc.file, tc.fallsTo, tc.reason)
			}
			err = res.Check()
			if tc.fallsTo == "" {
				if err != nil {
					t.Errorf("nothing moves, but Check refuses: %v", err)
				}
				return
			}
			var fe *FallthroughError
			if !errors.As(err, &fe) || len(fe.Moves) != 1 {
				t.Fatalf("Check: %v, want a *FallthroughError", err)
			}
			// The message names both groups.
			msg := err.Error()
			if !strings.Contains(msg, tc.file) || !strings.Contains(msg, `would fall to group "`+tc.fallsTo+`"`) {
				t.Errorf("refusal does not name %s and %s:\n%s", tc.file, tc.fallsTo, msg)
			}
			if _, ok := res.Catalog.Groups[tc.fallsTo]; !ok {
				t.Errorf("the group it falls to, %s, is not in the converted catalog", tc.fallsTo)
			}
		})
	}
}

func TestImportConvertsCleanly(t *testing.T) {
	res, err := Import(write(t, with(map[string]string{
		"groups/node.json":   `{"profile":"installed","selector":{"MAC":"52-54-00-AB-CD-EF","os":"installed"}}`,
		"profiles/old.json":  `{"id":"x","boot":{"kernel":"/k","cmdline":{"console":"ttyS0","quiet":""}},"extra":1}`,
		"ignition/clc.yaml":  "passwd: {}\n",
		"ignition/fcos.yaml": "variant: fcos\nversion: 1.5.0\n",
		"README.md":          "hi",
	})))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Check(); err != nil || len(res.Skipped) != 0 {
		t.Fatalf("Check: %v, skipped %v", err, res.Skipped)
	}
	g := res.Catalog.Groups["node"]
	if g == nil || g.Selector.Map()["mac"] != "52:54:00:ab:cd:ef" {
		t.Fatalf("group node: %+v", g)
	}
	p := res.Catalog.Profiles["old"]
	if p == nil || strings.Join(p.Boot.Args, " ") != "console=ttyS0 quiet" {
		t.Fatalf("profile old: %+v", p)
	}
	if _, ok := res.Catalog.Templates["ignition"]["clc.yaml"]; ok {
		t.Error("a Container Linux Config was imported")
	}
	want := []string{
		`README.md: not part of a matchbox data directory; ignored`,
		`groups/node.json: id "node" filled in from the file name`,
		`groups/node.json: selector key "MAC" lowercased to "mac"`,
		`groups/node.json: selector mac "52-54-00-AB-CD-EF" normalized to "52:54:00:ab:cd:ef"`,
		`ignition/clc.yaml: a Container Linux Config (no variant): not imported; convert it to Butane (variant: flatcar, version: 1.0.0) and apply it`,
		`profiles/old.json: boot.cmdline converted to boot.args`,
		`profiles/old.json: id "x" replaced by the file name "old" (matchbox finds profiles by file name)`,
		`profiles/old.json: unknown field "extra" dropped (matchbox ignored it)`,
	}
	if got := strings.Join(res.Notes, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("notes:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestImportNotADirectory(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := Import(f); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Import(file): %v", err)
	}
	if _, err := Import(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("Import(missing): no error")
	}
}
