package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateDir: a catalog directory is checked offline as serve loads
// it, each planted mistake reported once at its file, line and column.
func TestValidateDir(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		old    string
		new    string
		want   string // the one error, with the directory as ./
		errors int
		warn   string // the one warning besides the missing assets, as want
	}{
		{"valid", "", "", "", "", 0, ""},
		{"JSON syntax", "groups/worker.json", `"selector": {`, `"selector": {,`, "./groups/worker.json:5:16: invalid group: invalid character ',' looking for beginning of object key string", 1, ""},
		{"Butane typo", "ignition/worker.yaml", "      enabled: true\n      contents: |\n        [Unit]\n        Description=etcd gateway", "      enable: true\n      contents: |\n        [Unit]\n        Description=etcd gateway",
			"./ignition/worker.yaml:61:7: unused key enable (at $.systemd.units.0.enable) (Butane, line 50 col 7 of the output rendered for group worker-cabinet-two)", 1, ""},
		{"missing key", "ignition/worker.yaml", "ROLE={{ .role }}", "ROLE={{ .rol }}",
			"./ignition/worker.yaml:49:19: template worker.yaml uses .rol, which group worker-cabinet-two does not provide (not in its metadata or selector); only keys under .request may wait for the request", 1, ""},
		{"template syntax", "ignition/services.yaml", "{{", "{{ if }}{{", "./ignition/services.yaml:12:1: missing value for if", 1, ""},
		// A group naming a missing profile loads, as serve loads it
		// (matchbox serves it; Terraform writes a profile before its
		// templates): a warning, and those machines get 404.
		{"missing profile", "groups/worker.json", `"profile": "worker"`, `"profile": "wroker"`, "", 0,
			`./groups/worker.json: profile "wroker": no such profile (profiles/wroker.json): its machines get 404 for it until it exists`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := exampleFiles(t, "production")
			if tc.file != "" {
				plant(t, files, tc.file, tc.old, tc.new)
			}
			dir := writeDir(t, files)
			problems, err := ValidateDir(dir, "")
			if err != nil {
				t.Fatal(err)
			}
			var errs, assets, warns []Problem
			for _, p := range problems {
				switch {
				case p.Severity == SeverityError:
					errs = append(errs, p)
					if p.File == "" || !strings.HasPrefix(p.File, dir) {
						t.Errorf("error names no file of the catalog: %+v", p)
					}
				case strings.Contains(p.Message, "/assets/"):
					assets = append(assets, p)
				case tc.warn != "":
					warns = append(warns, p)
				default:
					t.Errorf("unexpected warning %s", p)
				}
			}
			if tc.warn != "" {
				if len(warns) != 1 {
					t.Fatalf("%d warnings besides the assets, want 1: %v", len(warns), problems)
				}
				if got := strings.Replace(warns[0].String(), dir+string(filepath.Separator), "./", 1); got != tc.warn {
					t.Errorf("got warning\n%s\nwant\n%s", got, tc.warn)
				}
			}
			if len(errs) != tc.errors {
				t.Fatalf("%d errors, want %d: %v", len(errs), tc.errors, problems)
			}
			if tc.want != "" {
				if got := strings.Replace(errs[0].String(), dir+string(filepath.Separator), "./", 1); got != tc.want {
					t.Errorf("got\n%s\nwant\n%s", got, tc.want)
				}
			}
			if tc.errors == 0 && len(assets) != 4 {
				t.Errorf("want the 4 missing kernels and initrds, got %v", assets)
			}
		})
	}
}

// TestValidateDirAssets: an asset a profile names is a warning at its
// place in the profile's file until the assets directory holds it.
func TestValidateDirAssets(t *testing.T) {
	files := exampleFiles(t, "laptop")
	dir := writeDir(t, files)
	problems, err := ValidateDir(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(dir, "profiles", "laptop.json") + ":5:16: boot.kernel names /assets/flatcar/current/flatcar_production_pxe.vmlinuz, but there is no assets directory " + filepath.Join(dir, "assets") + ": machines booting this profile would get 404 (examples/get-flatcar.sh fetches Flatcar's)",
		filepath.Join(dir, "profiles", "laptop.json") + ":6:17: boot.initrd[0] names /assets/flatcar/current/flatcar_production_pxe_image.cpio.gz, but there is no assets directory " + filepath.Join(dir, "assets") + ": machines booting this profile would get 404 (examples/get-flatcar.sh fetches Flatcar's)",
	}
	if len(problems) != 2 || problems[0].String() != want[0] || problems[1].String() != want[1] || problems[0].Severity != SeverityWarning {
		t.Fatalf("got %q\nwant %q", problems, want)
	}
	assets := t.TempDir()
	kernel := filepath.Join(assets, "flatcar", "current", "flatcar_production_pxe.vmlinuz")
	if err := os.MkdirAll(filepath.Dir(kernel), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kernel, []byte("kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	problems, err = ValidateDir(dir, assets)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || !strings.Contains(problems[0].Message, "boot.initrd[0] names /assets/flatcar/current/flatcar_production_pxe_image.cpio.gz, which the assets directory "+assets+" lacks") {
		t.Fatalf("with the kernel there: %q", problems)
	}
}

// TestValidateDirEmpty: a directory that holds no catalog is an error
// naming it, as serve refuses it at load (ErrNotCatalogDir): loading it
// would replace the stored catalog with an empty one.
func TestValidateDirEmpty(t *testing.T) {
	dir := t.TempDir()
	problems, err := ValidateDir(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || problems[0].Severity != SeverityError || !strings.Contains(problems[0].String(), dir) ||
		!strings.Contains(problems[0].Message, ErrNotCatalogDir.Error()) ||
		!strings.Contains(problems[0].Message, "it has none of profiles/, groups/, machines/, pools/") {
		t.Fatalf("got %q, want one error naming %s and saying it is not a catalog directory", problems, dir)
	}
	if _, err := ValidateDir(filepath.Join(t.TempDir(), "nope"), ""); err == nil {
		t.Fatal("a missing directory validated")
	}
}
