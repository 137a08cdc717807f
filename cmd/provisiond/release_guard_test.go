package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// guardCatalog writes a catalog with a pooled services group and two
// registered machines, n1 pinned to 10.7.0.21, n2 leased automatically.
func guardCatalog(t *testing.T) string {
	t.Helper()
	cat := t.TempDir()
	files := map[string]string{
		"profiles/svc.json": `{"id": "svc", "boot": {"kernel": "/assets/vmlinuz", "args": ["ip={{.ip.address}}"]}}`,
		"groups/svc.json":   `{"id": "svc", "profile": "svc", "selector": {"role": "services"}, "pool": "svc"}`,
		"pools/svc.json":    `{"name": "svc", "cidr": "10.7.0.0/24", "start": "10.7.0.20", "end": "10.7.0.40"}`,
		"machines/n1.json":  `{"name": "n1", "mac": "52:54:00:07:00:01", "labels": {"role": "services"}, "leases": {"svc": "10.7.0.21"}}`,
		"machines/n2.json":  `{"name": "n2", "mac": "52:54:00:07:00:02", "labels": {"role": "services"}}`,
	}
	for name, content := range files {
		writeFile(t, filepath.Join(cat, name), content)
	}
	return cat
}

// A wrong or emptied --catalog cannot release leases: the catalog's
// parent and its groups/ are refused, naming the directory; a catalog
// that drops the machines is refused at start, naming the flag and what
// would be released, and on SIGHUP (still serving the old one); with
// --allow-release the start goes through.
func TestCatalogGuard(t *testing.T) {
	cat, data := guardCatalog(t), t.TempDir()
	p := start(t, nil, "--data-dir", data, "--catalog", cat)
	if code, body := get(t, "http://"+p.boot+"/ipxe?mac=52:54:00:07:00:02"); code != 200 || !strings.Contains(body, "ip=10.7.0.20") {
		t.Fatalf("n2: %d %s", code, body)
	}
	if _, out, _ := cli(t, p, "", "leases"); !strings.Contains(out, "10.7.0.21") || !strings.Contains(out, "10.7.0.20") {
		t.Fatalf("leases at start:\n%s", out)
	}
	// SIGHUP with n1 gone from the directory: refused, n1 keeps its pin.
	os.Rename(filepath.Join(cat, "machines", "n1.json"), filepath.Join(t.TempDir(), "n1.json"))
	p.cmd.Process.Signal(syscall.SIGHUP)
	m := p.waitFor(t, "catalog reload refused; still serving the previous catalog")
	if e, _ := m["err"].(string); !strings.Contains(e, "n1 svc/10.7.0.21 (52:54:00:07:00:01 pinned)") || !strings.Contains(e, "--allow-release") {
		t.Errorf("reload refusal: %q", e)
	}
	if code, body := get(t, "http://"+p.boot+"/ipxe?mac=52:54:00:07:00:01"); code != 200 || !strings.Contains(body, "ip=10.7.0.21") {
		t.Errorf("n1 after the refused reload: %d %s", code, body)
	}
	// SIGHUP with the directory's content moved away (a deploy half
	// done): refused as not a catalog directory.
	aside := t.TempDir()
	for _, sub := range []string{"profiles", "groups", "machines", "pools"} {
		if err := os.Rename(filepath.Join(cat, sub), filepath.Join(aside, sub)); err != nil {
			t.Fatal(err)
		}
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	m = p.waitFor(t, "catalog reload refused; still serving the previous catalog")
	if e, _ := m["err"].(string); !strings.Contains(e, cat+": not a catalog directory") {
		t.Errorf("reload of an emptied directory: %q", e)
	}
	for _, sub := range []string{"profiles", "groups", "machines", "pools"} {
		os.Rename(filepath.Join(aside, sub), filepath.Join(cat, sub))
	}
	if code, body := get(t, "http://"+p.boot+"/ipxe?mac=52:54:00:07:00:02"); code != 200 || !strings.Contains(body, "ip=10.7.0.20") {
		t.Errorf("n2 after the refused reloads: %d %s", code, body)
	}
	p.stop(t)

	parent := filepath.Dir(cat)
	refusesStart(t, nil, "--catalog "+parent+": catalog: "+parent+": not a catalog directory", "--data-dir", data, "--catalog", parent)
	refusesStart(t, nil, "give its parent, "+cat, "--data-dir", data, "--catalog", filepath.Join(cat, "groups"))

	// Emptied: the subdirectories are there, their files are not.
	for _, sub := range []string{"groups", "machines"} {
		entries, _ := os.ReadDir(filepath.Join(cat, sub))
		for _, e := range entries {
			os.Remove(filepath.Join(cat, sub, e.Name()))
		}
	}
	refusesStart(t, nil, "the new catalog has no groups (the stored one has 1)", "--data-dir", data, "--catalog", cat)
	refusesStart(t, nil, "n2 svc/10.7.0.20 (52:54:00:07:00:02)", "--data-dir", data, "--catalog", cat)
	refusesStart(t, nil, "--allow-release", "--data-dir", data, "--catalog", cat)

	p = start(t, nil, "--data-dir", data, "--catalog", cat, "--allow-release")
	// The store holds a catalog: it is served while the directory loads
	// in the background, and the leases go with the directory's write
	// (its line may come before the listeners', which start reads).
	if logs, ok := p.waitLogs(t, func(logs string) bool { return strings.Contains(logs, `"msg":"catalog loaded"`) }); !ok {
		t.Fatalf("no catalog loaded with --allow-release:\n%s", logs)
	}
	if _, out, _ := cli(t, p, "", "leases"); strings.Contains(out, "10.7.0.2") {
		t.Errorf("leases still held after the load with --allow-release:\n%s", out)
	}
	p.stop(t)
}
