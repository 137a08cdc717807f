package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// validate runs `provisiond validate args...` and returns its exit
// status, stdout and stderr.
func validate(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"validate"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// copyCatalog copies an example catalog (without its assets) to a
// temporary directory.
func copyCatalog(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("..", "..", "examples", name)
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			if rel == "assets" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestValidateVerb: `provisiond validate` exits 0 for a valid catalog
// (warning about its missing kernels), 1 with each error at FILE:LINE:COL
// before the warnings for a catalog serve would refuse, 2 for usage
// mistakes, each a single line.
func TestValidateVerb(t *testing.T) {
	dir := copyCatalog(t, "production")
	code, out, errOut := validate(t, dir)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || errOut != "" || len(lines) != 5 || lines[4] != dir+" is valid (4 warnings)" ||
		lines[0] != filepath.Join(dir, "profiles", "services.json")+":5:16: warning: boot.kernel names /assets/flatcar/current/flatcar_production_pxe.vmlinuz, but there is no assets directory "+filepath.Join(dir, "assets")+": machines booting this profile would get 404 (examples/get-flatcar.sh fetches Flatcar's)" {
		t.Fatalf("valid catalog: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	worker := filepath.Join(dir, "ignition", "worker.yaml")
	b, err := os.ReadFile(worker)
	if err != nil {
		t.Fatal(err)
	}
	lines = strings.Split(string(b), "\n")
	if lines[60] != "      enabled: true" {
		t.Fatalf("line 61 of worker.yaml is %q", lines[60])
	}
	lines[60] = "      enable: true"
	if err := os.WriteFile(worker, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = validate(t, dir)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	want := worker + ":61:7: unused key enable (at $.systemd.units.0.enable) (Butane, line 50 col 7 of the output rendered for group worker-cabinet-two)"
	if code != 1 || len(lines) != 5 || lines[0] != want || !strings.Contains(lines[1], ": warning: ") ||
		errOut != "provisiond: validate: "+dir+" is not valid: 1 error, 4 warnings\n" {
		t.Fatalf("invalid catalog: exit %d\nstdout:\n%s\nstderr:\n%s\nwant first\n%s", code, out, errOut, want)
	}

	for _, args := range [][]string{{}, {dir, dir}, {"--nope", dir}} {
		code, out, errOut := validate(t, args...)
		if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "provisiond: validate: ") {
			t.Errorf("validate %q: exit %d, stdout %q, stderr %q; want 2 and one line", args, code, out, errOut)
		}
	}
	// A directory that is missing, or not a directory, is no usage
	// mistake: validate ran and the catalog could not be read (1),
	// named on one line.
	for _, path := range []string{filepath.Join(dir, "missing"), worker} {
		code, out, errOut := validate(t, path)
		if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "provisiond: validate: "+path+": ") {
			t.Errorf("validate %s: exit %d, stdout %q, stderr %q; want 1 and one line naming it", path, code, out, errOut)
		}
	}
	if code, out, _ := validate(t, "--help"); code != 0 || !strings.HasPrefix(out, "Usage: provisiond validate DIR") {
		t.Errorf("--help: exit %d, %q", code, out)
	}
}

// TestValidateEnv: DIR and --assets-dir come from PROVISIOND_CATALOG and
// PROVISIOND_ASSETS_DIR, as serve's do.
func TestValidateEnv(t *testing.T) {
	dir := copyCatalog(t, "laptop")
	assets := t.TempDir()
	if err := os.MkdirAll(filepath.Join(assets, "flatcar", "current"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"flatcar_production_pxe.vmlinuz", "flatcar_production_pxe_image.cpio.gz"} {
		if err := os.WriteFile(filepath.Join(assets, "flatcar", "current", f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(binary, "validate")
	cmd.Env = append(os.Environ(), "PROVISIOND_CATALOG="+dir, "PROVISIOND_ASSETS_DIR="+assets)
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != dir+" is valid (0 warnings)\n" {
		t.Fatalf("%v: %s", err, out)
	}
}

// TestValidateVerbAsServe: validate judges as serve loads. A group naming
// a missing profile is served (those machines get 404): exit 0, with the
// warning naming the profile printed. A directory that holds no catalog
// is refused at load: exit 1, the error naming the directory.
func TestValidateVerbAsServe(t *testing.T) {
	dir := copyCatalog(t, "production")
	group := filepath.Join(dir, "groups", "worker.json")
	b, err := os.ReadFile(group)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"profile": "worker"`) {
		t.Fatalf("%s names no worker profile:\n%s", group, b)
	}
	if err := os.WriteFile(group, []byte(strings.Replace(string(b), `"profile": "worker"`, `"profile": "wroker"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := validate(t, dir)
	want := group + `: warning: profile "wroker": no such profile (profiles/wroker.json): its machines get 404 for it until it exists`
	if code != 0 || errOut != "" || !strings.Contains(out, want+"\n") || !strings.HasSuffix(out, dir+" is valid (5 warnings)\n") {
		t.Fatalf("missing profile: exit %d\nstdout:\n%s\nstderr:\n%s\nwant the line\n%s", code, out, errOut, want)
	}

	empty := t.TempDir()
	code, out, errOut = validate(t, empty)
	if code != 1 || !strings.Contains(out, empty) || !strings.Contains(out, "not a catalog directory") ||
		errOut != "provisiond: validate: "+empty+" is not valid: 1 error, 0 warnings\n" {
		t.Fatalf("empty directory: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}
