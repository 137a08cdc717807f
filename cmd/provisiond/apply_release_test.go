package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestApplyPruneAllowRelease: `apply --prune` of a catalog that no longer
// registers machines holding leases is refused by the server (409),
// listing the leases and saying how to do it on purpose, and nothing
// changes; `--allow-release` does it; without --prune the flag is a usage
// mistake.
func TestApplyPruneAllowRelease(t *testing.T) {
	tokens := writeFile(t, filepath.Join(t.TempDir(), "tokens"), cliToken+"\n")
	p := start(t, nil, "--data-dir", t.TempDir(), "--admin-token-file", tokens)
	full := guardCatalog(t)
	if code, out, errs := cli(t, p, tokens, "apply", "-f", full); code != 0 {
		t.Fatalf("apply: %d %s%s", code, out, errs)
	}
	pruned := copyDir(t, full)
	if err := os.RemoveAll(filepath.Join(pruned, "machines")); err != nil {
		t.Fatal(err)
	}

	code, out, errs := cli(t, p, tokens, "apply", "-f", pruned, "--prune")
	if code != 1 {
		t.Fatalf("apply --prune releasing n1 and n2: exit %d\n%s%s", code, out, errs)
	}
	for _, w := range []string{"409", "n1 svc/10.7.0.21 (52:54:00:07:00:01 pinned)", "n2 svc/", "provisiond apply --prune --allow-release"} {
		if !strings.Contains(errs, w) {
			t.Errorf("refusal lacks %q:\n%s", w, errs)
		}
	}
	if _, leases, _ := cli(t, p, tokens, "leases"); !strings.Contains(leases, "10.7.0.21") || !strings.Contains(leases, "52:54:00:07:00:02") {
		t.Errorf("leases after the refusal:\n%s", leases)
	}

	if code, out, errs := cli(t, p, tokens, "apply", "-f", pruned, "--allow-release"); code != 2 || !strings.Contains(errs, "--prune") {
		t.Errorf("--allow-release without --prune: exit %d %s%s, want 2 naming --prune", code, out, errs)
	}

	if code, out, errs := cli(t, p, tokens, "apply", "-f", pruned, "--prune", "--allow-release"); code != 0 || !strings.Contains(out, "machines/n1") {
		t.Fatalf("apply --prune --allow-release: exit %d\n%s%s", code, out, errs)
	}
	if _, leases, _ := cli(t, p, tokens, "leases"); strings.Contains(leases, "52:54:00:07:00:01") || strings.Contains(leases, "52:54:00:07:00:02") {
		t.Errorf("leases after an allowed release:\n%s", leases)
	}
}
