package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
)

// hasWarning reports whether one warning contains every substring.
func hasWarning(warnings []string, subs ...string) bool {
	for _, w := range warnings {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(w, s)
		}
		if all {
			return true
		}
	}
	return false
}

// TestLoadMatchboxLayouts: what matchbox serves, provisiond loads, with a
// warning for each file it skips, as matchbox skips it.
func TestLoadMatchboxLayouts(t *testing.T) {
	files := base()
	files["groups/sub/x.json"] = `{"id":"x","profile":"p","selector":{"role":"x"}}`
	files["groups/README.md"] = "# groups\n"
	files["profiles/notes.txt"] = "notes\n"
	files["ignition/old/i.yaml"] = "variant: flatcar\nversion: 1.0.0\n"
	files["groups/no-id.json"] = "{\n  \"profile\": \"p\",\n  \"selector\": {\"role\": \"c\"}\n}\n"
	files["groups/empty.json"] = `{"profile":"p","selector":{"role":"e"}}`
	s, warnings, err := load(t, files)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]string{
		{"groups/sub", "skipped", "directory"},
		{"groups/README.md", "skipped", ".json"},
		{"profiles/notes.txt", "skipped", ".json"},
		{"ignition/old", "skipped", "directory"},
	} {
		if !hasWarning(warnings, want...) {
			t.Errorf("no warning with %q in %q", want, warnings)
		}
	}
	if _, ok := s.Catalog.Groups["x"]; ok {
		t.Error("a group in a subdirectory was loaded")
	}
	g := s.Catalog.Groups["no-id"]
	if g == nil || g.Profile != "p" || g.Selector.Map()["role"] != "c" {
		t.Fatalf("group without id: %+v (groups %v)", g, sortedKeys(s.Catalog.Groups))
	}
	m, err := s.Resolve(groups.Labels{"role": "c"})
	if err != nil || m.Group.ID != "no-id" {
		t.Errorf("Resolve(role=c) = %v, %v; want group no-id", m, err)
	}
	if s.Catalog.Groups["empty"] == nil {
		t.Error("group file with no id and no newline not loaded")
	}
}

// TestLoadMatchboxExamples loads matchbox v0.11.0's examples/ directory as
// shipped (groups/ holds one folder per example, all skipped), then each
// example's groups folder in place of groups/, as matchbox's docs run it.
func TestLoadMatchboxExamples(t *testing.T) {
	dir := filepath.Join("testdata", "matchbox-v0.11.0-examples")
	c, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, warnings, err := Compile(c, ipam.NewTable(nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Catalog.Profiles) != 4 || len(s.Catalog.Groups) != 0 || len(s.Catalog.Templates[profiles.KindIgnition]) != 6 {
		t.Errorf("loaded %d profiles, %d groups, %d ignition templates; want 4, 0, 6", len(s.Catalog.Profiles), len(s.Catalog.Groups), len(s.Catalog.Templates[profiles.KindIgnition]))
	}
	for _, ex := range []string{"fedora-coreos", "fedora-coreos-install", "flatcar", "flatcar-install"} {
		if !hasWarning(warnings, filepath.Join("groups", ex), "skipped") {
			t.Errorf("no warning for groups/%s in %q", ex, warnings)
		}
	}

	tests := []struct {
		example string
		labels  groups.Labels
		group   string
		kernel  string
	}{
		{"fedora-coreos", groups.Labels{"mac": "52:54:00:a1:9c:ae"}, "default", "fedora-coreos-36.20220906.3.2-live-kernel-x86_64"},
		{"fedora-coreos-install", groups.Labels{"mac": "52:54:00:a1:9c:ae"}, "default", "fedora-coreos-36.20220906.3.2-live-kernel-x86_64"},
		{"flatcar", groups.Labels{}, "default", "flatcar_production_pxe.vmlinuz"},
		{"flatcar-install", groups.Labels{"mac": "52:54:00:a1:9c:ae"}, "stage-0", "flatcar_production_pxe.vmlinuz"},
		{"flatcar-install", groups.Labels{"mac": "52:54:00:a1:9c:ae", "os": "installed"}, "stage-1", "flatcar_production_pxe.vmlinuz"},
	}
	for _, tc := range tests {
		t.Run(tc.example+"/"+tc.group, func(t *testing.T) {
			c, err := LoadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			// The docs mount examples/groups/<example> as groups/.
			gdir := filepath.Join(dir, "groups", tc.example)
			entries, err := os.ReadDir(gdir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				data, err := os.ReadFile(filepath.Join(gdir, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				g, err := groups.Decode(data)
				if err != nil {
					t.Fatalf("%s: %v", e.Name(), err)
				}
				c.Groups[g.ID] = g
			}
			s, _, err := Compile(c, ipam.NewTable(nil), Options{})
			if err != nil {
				t.Fatal(err)
			}
			m, err := s.Resolve(tc.labels)
			if err != nil {
				t.Fatal(err)
			}
			if m.Group.ID != tc.group {
				t.Errorf("group %s, want %s", m.Group.ID, tc.group)
			}
			in := s.Input(m, "mac=52:54:00:a1:9c:ae", "http://matchbox.example.com:8080", nil)
			boot, err := s.Boot(m, in)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(boot.Kernel, tc.kernel) {
				t.Errorf("kernel %q, want ...%s", boot.Kernel, tc.kernel)
			}
			ign, _, err := s.Config(profiles.KindIgnition, m, in)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(ign), `"version": "3.`) && !strings.Contains(string(ign), `"version":"3.`) {
				t.Errorf("ignition %.200s: not Ignition 3.x", ign)
			}
		})
	}
}

// TestDanglingReferences: a profile naming a missing template and a group
// naming a missing profile load with a warning (matchbox serves them, and
// terraform-provider-matchbox writes a profile before its templates); the
// machines concerned get ErrNoTemplate or ErrNoProfile, not another
// group's answer, and NewDangling tells a change that breaks a reference
// from one that finds it broken.
func TestDanglingReferences(t *testing.T) {
	files := base()
	delete(files, "ignition/i.yaml")
	files["groups/c.json"] = `{"id":"c","profile":"nope","selector":{"role":"c"}}`
	s, warnings, err := load(t, files)
	if err != nil {
		t.Fatal(err)
	}
	if !hasWarning(warnings, "profiles/p.json", `ignition_id "i.yaml"`, "404") {
		t.Errorf("no warning for the missing template in %q", warnings)
	}
	if !hasWarning(warnings, "groups/c.json", `profile "nope"`, "404") {
		t.Errorf("no warning for the missing profile in %q", warnings)
	}

	m, err := s.Resolve(groups.Labels{"role": "c", "mac": "52:54:00:00:00:09"})
	if !errors.Is(err, ErrNoProfile) || !errors.Is(err, ErrNoMatch) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("Resolve(role=c) error %v, want ErrNoProfile naming nope", err)
	}
	if m == nil || m.Group == nil || m.Group.ID != "c" {
		t.Errorf("Resolve(role=c) match %+v, want group c", m)
	}

	m, err = s.Resolve(groups.Labels{"role": "a", "mac": "52:54:00:00:00:09"})
	if err != nil {
		t.Fatal(err)
	}
	in := s.Input(m, "role=a", "http://x", nil)
	if _, _, err := s.Config(profiles.KindIgnition, m, in); !errors.Is(err, ErrNoTemplate) || !strings.Contains(err.Error(), `"i.yaml"`) {
		t.Errorf("Config(ignition) error %v, want ErrNoTemplate naming i.yaml", err)
	}
	if out, _, err := s.Config(profiles.KindCloud, m, in); err != nil || string(out) != "#cloud-config\n" {
		t.Errorf("Config(cloud) = %q, %v: the other kinds still render", out, err)
	}

	// NewDangling: only references the change itself breaks.
	next := s.Catalog.Clone()
	next.Machines["m3"] = &Machine{Name: "m3", MAC: "52:54:00:00:00:03"}
	if err := NewDangling(s.Catalog, next); err != nil {
		t.Errorf("an unrelated change: %v", err)
	}
	next = s.Catalog.Clone()
	delete(next.Templates[profiles.KindGeneric], "g.txt")
	if err := NewDangling(s.Catalog, next); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `generic_id "g.txt"`) {
		t.Errorf("deleting a used template: %v, want ErrInvalid naming generic_id", err)
	}
	next = s.Catalog.Clone()
	delete(next.Profiles, "p")
	if err := NewDangling(s.Catalog, next); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `profile "p"`) {
		t.Errorf("deleting a used profile: %v, want ErrInvalid naming it", err)
	}
	if err := NewDangling(nil, s.Catalog); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewDangling(nil, catalog with dangling references) = %v", err)
	}
}
