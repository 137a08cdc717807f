package lifecycle

import (
	"encoding/json"
	"github.com/provisiond/provisiond/groups"
	"os"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/profiles"
)

// TestInstallExample renders the install profile's Butane of
// testdata/flatcar-install.yaml (shown in docs/lifecycle.md) as the
// /ignition endpoint would, with and without a boot token, translates it
// and checks the units that report to provisiond.
func TestInstallExample(t *testing.T) {
	src, err := os.ReadFile("testdata/flatcar-install.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := profiles.Compile("flatcar-install.yaml", string(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := os.ReadFile("../docs/lifecycle.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(docs), string(src)) {
		t.Error("docs/lifecycle.md does not show testdata/flatcar-install.yaml as it is")
	}
	for _, tc := range []struct {
		name      string
		query     map[string]string
		metadata  map[string]any
		installed string
		disk      string
	}{
		{"no tokens", map[string]string{"mac": "52:54:00:e2:e0:05"}, nil,
			`-X POST "http://10.0.2.2:8080/installed?mac=52:54:00:e2:e0:05"`, "-d /dev/sda "},
		{"boot token", map[string]string{"mac": "52:54:00:e2:e0:05", "token": "AAAAaabb_-"}, map[string]any{"install_disk": "/dev/vda"},
			`-X POST "http://10.0.2.2:8080/installed?mac=52:54:00:e2:e0:05&token=AAAAaabb_-"`, "-d /dev/vda "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := profiles.Data(profiles.Input{Query: tc.query, Metadata: groups.MetadataOf(tc.metadata), ServerURL: "http://10.0.2.2:8080"})
			out, err := tmpl.Execute(data, 0)
			if err != nil {
				t.Fatal(err)
			}
			ign, warnings, err := profiles.ButaneToIgnition(out)
			if err != nil || len(warnings) > 0 {
				t.Fatalf("butane: %v %v", err, warnings)
			}
			var cfg struct {
				Systemd struct {
					Units []struct {
						Name     string
						Enabled  *bool
						Contents string
					}
				}
			}
			if err := json.Unmarshal(ign, &cfg); err != nil {
				t.Fatal(err)
			}
			units := map[string]string{}
			for _, u := range cfg.Systemd.Units {
				units[u.Name] = u.Contents
			}
			if !strings.Contains(units["provisiond-installed.service"], tc.installed) {
				t.Errorf("installed unit:\n%s\nwant %s", units["provisiond-installed.service"], tc.installed)
			}
			if !strings.Contains(units["provisiond-failed.service"], strings.Replace(tc.installed, "/installed", "/failed", 1)) {
				t.Errorf("failed unit:\n%s", units["provisiond-failed.service"])
			}
			if !strings.Contains(units["installer.service"], tc.disk) || !strings.Contains(units["installer.service"], "os=installed") {
				t.Errorf("installer unit:\n%s", units["installer.service"])
			}
		})
	}
}
