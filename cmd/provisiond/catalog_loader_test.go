package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// missingAssetLines are the "missing asset" warnings in a serve log.
func missingAssetLines(t *testing.T, logs string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "missing asset" && m["level"] == "WARN" {
			out = append(out, m["problem"].(string))
		}
	}
	return out
}

// TestServeLogsMissingAssets: serve logs, at start, each kernel or initrd
// a profile names under /assets/ that the assets directory lacks, for a
// --catalog directory and for the stored catalog alike, and none once
// the file is there. The admin API without authentication is warned
// about at its real address, not --admin-addr's port 0.
func TestServeLogsMissingAssets(t *testing.T) {
	data := t.TempDir()
	cat := guardCatalog(t)
	src := filepath.Join(cat, "profiles", "svc.json")
	p := start(t, nil, "--data-dir", data, "--catalog", cat)
	p.waitFor(t, "the admin API has no authentication: anyone who can reach "+p.admin+" can change the catalog (loopback only)")
	want := src + ":1:35: boot.kernel names /assets/vmlinuz, but no assets directory is served (--assets-dir): machines booting this profile would get 404"
	if got := missingAssetLines(t, p.logs()); len(got) != 1 || got[0] != want {
		t.Errorf("missing asset warnings %q, want\n%q", got, want)
	}
	p.stop(t)

	// The stored catalog, with an assets directory that lacks the kernel.
	assets := t.TempDir()
	p = start(t, nil, "--data-dir", data, "--assets-dir", assets)
	got := missingAssetLines(t, p.logs())
	if len(got) != 1 || !strings.Contains(got[0], "boot.kernel names /assets/vmlinuz, which the assets directory "+assets+" lacks") {
		t.Errorf("stored catalog: missing asset warnings %q", got)
	}
	p.stop(t)

	if err := os.WriteFile(filepath.Join(assets, "vmlinuz"), []byte("kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	p = start(t, nil, "--data-dir", data, "--catalog", cat, "--assets-dir", assets)
	if got := missingAssetLines(t, p.logs()); len(got) != 0 {
		t.Errorf("with the kernel there: %q", got)
	}
	p.stop(t)
}
