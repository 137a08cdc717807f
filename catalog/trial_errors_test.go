package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
)

// exampleFiles reads an example catalog of examples/ into a map for
// writeDir, so a test can plant a mistake in a copy.
func exampleFiles(t *testing.T, name string) map[string]string {
	t.Helper()
	root := filepath.Join("..", "examples", name)
	files := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if strings.HasPrefix(rel, "assets") {
			return nil
		}
		b, err := os.ReadFile(path)
		files[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func plant(t *testing.T, files map[string]string, file, old, new string) {
	t.Helper()
	if !strings.Contains(files[file], old) {
		t.Fatalf("%s has no %q", file, old)
	}
	files[file] = strings.Replace(files[file], old, new, 1)
}

func compileFiles(t *testing.T, files map[string]string) (string, []string, error) {
	t.Helper()
	dir := writeDir(t, files)
	c, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, warnings, err := Compile(c, ipam.NewTable(nil), Options{})
	return dir, warnings, err
}

// TestButaneErrorAtSourceLine: the Butane typo "enable" for "enabled" on
// line 61 of the production example's worker.yaml is reported once, at
// worker.yaml:61:7 (the rendered output has it on line 50), and not also
// as a warning.
func TestButaneErrorAtSourceLine(t *testing.T) {
	files := exampleFiles(t, "production")
	plant(t, files, "ignition/worker.yaml", "      enabled: true\n      contents: |\n        [Unit]\n        Description=etcd gateway", "      enable: true\n      contents: |\n        [Unit]\n        Description=etcd gateway")
	if !strings.HasPrefix(strings.Split(files["ignition/worker.yaml"], "\n")[60], "      enable: true") {
		t.Fatal("the planted typo is not on line 61")
	}
	dir, warnings, err := compileFiles(t, files)
	var se *SourceError
	if !errors.As(err, &se) || !errors.Is(err, ErrInvalid) || !errors.Is(err, profiles.ErrIgnition) {
		t.Fatalf("want a SourceError, got %v", err)
	}
	want := filepath.Join(dir, "ignition", "worker.yaml") + ":61:7: unused key enable (at $.systemd.units.0.enable) (Butane, line 50 col 7 of the output rendered for group worker-cabinet-two)"
	if err.Error() != want {
		t.Errorf("error\n%s\nwant\n%s", err, want)
	}
	if se.Line != 61 || se.Col != 7 || se.Rendered != (profiles.Position{Line: 50, Col: 7}) || se.Group != "worker-cabinet-two" {
		t.Errorf("SourceError %+v", se)
	}
	for _, w := range warnings {
		if strings.Contains(w, "enable") {
			t.Errorf("the error is reported as a warning too: %s", w)
		}
	}
}

// TestMissingKeyIsLoadError: a top-level key that a group using the
// template does not provide is an error at load naming the template, the
// key and the group, in every template kind and in boot fields; a key
// under .request is a warning, since the request may bring it.
func TestMissingKeyIsLoadError(t *testing.T) {
	tests := []struct {
		name      string
		file, old string
		new       string
		want      []string
	}{
		{"butane", "ignition/worker.yaml", "CABINET={{ .cabinet }}", "CABINET={{ .cabnet }}",
			[]string{"worker.yaml:51:22: template worker.yaml uses .cabnet, which group worker-cabinet-two does not provide"}},
		{"butane, dollar", "ignition/services.yaml", "{{ .etcd_image_tag }}", "{{ $.etcd_tag }}",
			[]string{"services.yaml:", "template services.yaml uses .etcd_tag, which group services does not provide"}},
		{"boot args", "profiles/worker.json", `"flatcar.first_boot=yes"`, `"flatcar.first_boot=yes", "rack={{ .rack }}"`,
			[]string{"worker.json: template worker boot.args[", "uses .rack, which group worker"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := exampleFiles(t, "production")
			plant(t, files, tc.file, tc.old, tc.new)
			_, _, err := compileFiles(t, files)
			var se *SourceError
			if !errors.As(err, &se) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("want a SourceError, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}

	t.Run("request key", func(t *testing.T) {
		files := exampleFiles(t, "production")
		plant(t, files, "ignition/worker.yaml", "CABINET={{ .cabinet }}", "CABINET={{ .request.query.serial }}")
		_, warnings, err := compileFiles(t, files)
		if err != nil {
			t.Fatalf("a key under .request refused at load: %v", err)
		}
		if w := strings.Join(warnings, "\n"); !strings.Contains(w, "worker.yaml:51:") || !strings.Contains(w, "needs request data") {
			t.Errorf("no warning at worker.yaml:51 for the request key:\n%s", w)
		}
	})

	t.Run("cloud-config", func(t *testing.T) {
		files := exampleFiles(t, "dev-cluster")
		plant(t, files, "cloud/worker.yaml", "{{", "{{ .etcd_endpoint }}{{")
		_, _, err := compileFiles(t, files)
		if err == nil || !strings.Contains(err.Error(), "worker.yaml:") || !strings.Contains(err.Error(), "uses .etcd_endpoint, which group worker does not provide") {
			t.Fatalf("got %v", err)
		}
	})
}

// TestEveryTemplateReported: mistakes in two templates are both reported,
// each once, although several groups use each template.
func TestEveryTemplateReported(t *testing.T) {
	files := exampleFiles(t, "production")
	plant(t, files, "ignition/worker.yaml", "ROLE={{ .role }}", "ROLE={{ .rol }}")
	plant(t, files, "ignition/services.yaml", "systemd:", "systemd:\n  unitz: []")
	_, _, err := compileFiles(t, files)
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	if strings.Count(msg, "uses .rol,") != 1 || strings.Count(msg, "unused key unitz") != 1 {
		t.Errorf("want each mistake once:\n%s", msg)
	}
}

// TestErrorInsideValue: a value that Butane refuses is reported at the
// action that wrote it, with the rendered line beside it.
func TestErrorInsideValue(t *testing.T) {
	files := base()
	files["ignition/i.yaml"] = "variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n    - path: {{ .path }}\n"
	files["groups/a.json"] = `{"id":"a","profile":"p","selector":{"role":"a"},"metadata":{"path":"etc/hostname"}}`
	files["groups/b.json"] = `{"id":"b","profile":"p","selector":{"role":"b"},"metadata":{"path":"/etc/hostname"}}`
	_, _, err := compileFiles(t, files)
	var se *SourceError
	if !errors.As(err, &se) {
		t.Fatalf("want a SourceError, got %v", err)
	}
	if se.Line != 5 || se.Col != 16 || se.Group != "a" || !strings.HasSuffix(err.Error(), `i.yaml:5:16: path not absolute (at $.storage.files.0.path) (Butane, line 5 col 13 of the output rendered for group a: "- path: etc/hostname")`) {
		t.Errorf("got %+v: %v", se, err)
	}
}

// TestRequestErrorAtSourceLine: a translation that fails only with a
// request's data is reported, at request time, at the template's line,
// with the rendered line beside it, and is not a catalog error.
func TestRequestErrorAtSourceLine(t *testing.T) {
	files := base()
	files["ignition/i.yaml"] = "variant: flatcar\nversion: 1.0.0\n# a comment\nstorage:\n  files:\n{{- if .request.query.path }}\n    - path: {{ .request.query.path }}\n{{- end }}\n"
	_, _, err := compileFiles(t, files)
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadDir(writeDir(t, files))
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := Compile(c, ipam.NewTable(nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Resolve(map[string]string{"mac": "52:54:00:00:00:09", "role": "a", "path": "relative"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Config(profiles.KindIgnition, m, s.Input(m, "path=relative", "http://x", nil))
	want := `ignition/i.yaml:7:16: path not absolute (at $.storage.files.0.path) (Butane, line 6 col 13 of the output rendered for group a: "- path: relative")`
	if err == nil || err.Error() != want || !errors.Is(err, profiles.ErrIgnition) || errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

// TestMissingKeyScope: a key missing under a field of the data's root is
// a load error (a typo under .ip or .machine fails for every machine);
// under .request or .machine.labels, or relative to a dot that a range,
// with or template call rebound, it is a warning.
func TestMissingKeyScope(t *testing.T) {
	tests := []struct {
		name, action string
		want         string // "" for a warning only
	}{
		{"typo under .ip", "{{ .ip.adress }}", `ignition/i.yaml:3:9: template i.yaml uses .ip.adress, but for group `},
		{"typo under .machine", "{{ .machine.nmae }}", `template i.yaml uses .machine.nmae, but for group `},
		{"$ from anywhere", "{{ range .l }}{{ $.cabnet }}{{ end }}", "template i.yaml uses .cabnet, which group"},
		{"machine label", "{{ .machine.labels.rack }}", ""},
		{"with the query", "{{ with .request.query }}{{ .hostname }}{{ end }}", ""},
		{"range element", "{{ range .m }}{{ .x }}{{ end }}", ""},
		{"defined template", `{{ define "t" }}{{ .cabnet }}{{ end }}{{ template "t" . }}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := base()
			files["groups/a.json"] = `{"id":"a","profile":"p","selector":{"role":"a"},"pool":"net2","metadata":{"l":["x"],"m":[{"y":1}]}}`
			files["groups/b.json"] = `{"id":"b","profile":"p","selector":{"role":"b"},"pool":"net","metadata":{"l":["x"],"m":[{"y":1}]}}`
			files["pools/net2.json"] = `{"name":"net2","cidr":"10.1.0.0/24","start":"10.1.0.10","end":"10.1.0.20","gateway":"10.1.0.1"}`
			files["ignition/i.yaml"] = "variant: flatcar\nversion: 1.0.0\n# " + tc.action + "\n"
			_, warnings, err := compileFiles(t, files)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if w := strings.Join(warnings, "\n"); !strings.Contains(w, "i.yaml:3:") || !strings.Contains(w, "needs request data") {
					t.Errorf("no warning at i.yaml:3: %q", warnings)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
