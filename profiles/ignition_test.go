package profiles

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/internal/golden"
)

func TestButaneToIgnition(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		version string
	}{
		{"flatcar-1.0", "variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n    - path: /etc/hostname\n      contents:\n        inline: node1\n", "3.3.0"},
		{"flatcar-1.1", "variant: flatcar\nversion: 1.1.0\npasswd:\n  users:\n    - name: core\n      ssh_authorized_keys: [\"ssh-ed25519 AAAA\"]\n", "3.4.0"},
		{"fcos-1.6", "variant: fcos\nversion: 1.6.0\nsystemd:\n  units:\n    - name: etcd.service\n      enabled: true\n      contents: \"[Service]\\nExecStart=/bin/true\\n[Install]\\nWantedBy=multi-user.target\\n\"\n", "3.5.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, warnings, err := ButaneToIgnition([]byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) != 0 {
				t.Errorf("warnings: %v", warnings)
			}
			var cfg struct {
				Ignition struct{ Version string }
			}
			if err := json.Unmarshal(out, &cfg); err != nil {
				t.Fatal(err)
			}
			if cfg.Ignition.Version != tc.version {
				t.Errorf("ignition version %q, want %q", cfg.Ignition.Version, tc.version)
			}
			golden.Assert(t, "testdata/ignition/"+tc.name+".json", out)
		})
	}
}

func TestButaneErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // substrings of the error
	}{
		{"yaml-syntax", "variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n    - path: /x\n   bad indent: [\n", []string{"butane", "line"}},
		{"unknown-field", "variant: flatcar\nversion: 1.0.0\nstorage:\n  filez: []\n", []string{"butane", "filez", "line 4"}},
		{"unknown-variant", "variant: nosuch\nversion: 1.0.0\n", []string{"butane", "nosuch"}},
		{"relative-path", "variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n    - path: etc/hostname\n", []string{"butane", "absolute"}},
		{"empty", "", []string{"butane"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ButaneToIgnition([]byte(tc.src))
			if !errors.Is(err, ErrIgnition) {
				t.Fatalf("err = %v, want ErrIgnition", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestCheckIgnition(t *testing.T) {
	ok := []string{
		`{"ignition":{"version":"3.0.0"}}`,
		`{"ignition":{"version":"3.1.0"}}`,
		`{"ignition":{"version":"3.2.0"}}`,
		`{"ignition":{"version":"3.3.0"}}`,
		`{"ignition":{"version":"3.4.0"}}`,
		`{"ignition":{"version":"3.5.0"},"storage":{"files":[{"path":"/etc/x","contents":{"source":"data:,x"}}]}}`,
	}
	for _, raw := range ok {
		if _, err := CheckIgnition([]byte(raw)); err != nil {
			t.Errorf("CheckIgnition(%s): %v", raw, err)
		}
	}
	bad := map[string]string{
		`{}`:                               "missing",
		`{"ignition":{"version":""}}`:      "missing",
		`{"ignition":{"version":"2.2.0"}}`: "3.x",
		`{"ignition":{"version":"3.7.0-experimental"}}`: "experimental",
		`{"ignition":{"version":"3.99.0"}}`:             "3.99.0",
		`not json`:                                      "invalid",
		`{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"relative"}]}}`: "3.3.0",
	}
	for raw, want := range bad {
		_, err := CheckIgnition([]byte(raw))
		if !errors.Is(err, ErrIgnition) || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckIgnition(%s) = %v, want ErrIgnition mentioning %q", raw, err, want)
		}
	}
}
