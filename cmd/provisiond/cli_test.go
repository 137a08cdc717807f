package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/provisiond/provisiond/catalog"
)

const cliToken = "cli-test-token-0123456789abcdef"

// cli runs the provisiond client against p's admin API with the token in
// tokenFile ("" for none).
func cli(t *testing.T, p *proc, tokenFile string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "PROVISIOND_SERVER=http://"+p.admin)
	if tokenFile != "" {
		cmd.Env = append(cmd.Env, "PROVISIOND_TOKEN_FILE="+tokenFile)
	}
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

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCLI drives every client verb against a real server with token
// authentication and an empty store, then restarts it: API changes
// persist without --catalog.
func TestCLI(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	tokens := writeFile(t, filepath.Join(dir, "tokens"), "# admins\n"+cliToken+"\n")
	wrong := writeFile(t, filepath.Join(dir, "wrong"), "not-the-token-0123456789\n")
	p := start(t, nil, "--data-dir", data, "--admin-token-file", tokens)
	ok := func(args ...string) string {
		t.Helper()
		code, out, errOut := cli(t, p, tokens, args...)
		if code != 0 {
			t.Fatalf("provisiond %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	fails := func(want string, args ...string) {
		t.Helper()
		code, out, errOut := cli(t, p, tokens, args...)
		if code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("provisiond %s: exit %d, want an error with %q\n%s%s", strings.Join(args, " "), code, want, out, errOut)
		}
	}

	// Authentication.
	if code, _, errOut := cli(t, p, "", "get", "profiles"); code != 1 || !strings.Contains(errOut, "401") {
		t.Errorf("without a token: %d %s", code, errOut)
	}
	if code, _, errOut := cli(t, p, wrong, "get", "profiles"); code != 1 || !strings.Contains(errOut, "401 Unauthorized: invalid token") {
		t.Errorf("with a wrong token: %d %s", code, errOut)
	}

	// apply a matchbox-layout directory: one transaction.
	out := ok("apply", "-f", testCatalog)
	for _, want := range []string{"created groups/services", "created profiles/etcd3", "created ignition/etcd3.yaml", "created pools/services", "created machines/node1"} {
		if !strings.Contains(out, want) {
			t.Errorf("apply DIR does not say %q:\n%s", want, out)
		}
	}
	if out := ok("apply", "-f", testCatalog); strings.TrimSpace(out) != "no changes" {
		t.Errorf("second apply: %s", out)
	}
	// get, as a table, JSON and YAML.
	if out := ok("get", "groups"); !strings.Contains(out, "worker-two") || !strings.HasPrefix(out, "ID ") {
		t.Errorf("get groups:\n%s", out)
	}
	var g map[string]any
	if err := json.Unmarshal([]byte(ok("get", "group", "worker", "-o", "json")), &g); err != nil || g["profile"] != "worker" {
		t.Errorf("get group -o json: %v %v", g, err)
	}
	if out := ok("get", "-o", "yaml", "pools", "services"); !strings.Contains(out, "cidr: 10.0.0.0/24") {
		t.Errorf("get pool -o yaml:\n%s", out)
	}
	if out := ok("get", "template", "ignition/raw.ign"); !strings.Contains(out, `"ignition"`) {
		t.Errorf("get template:\n%s", out)
	}
	fails("404 Not Found: groups/nope: not found", "get", "group", "nope")
	fails("unknown kind", "get", "widgets")

	// apply one file, its kind from its directory; a dry run changes nothing.
	web := writeFile(t, filepath.Join(dir, "groups", "web.json"), `{"profile":"worker","selector":{"role":"web"}}`)
	if out := ok("apply", "-f", web, "--dry-run"); !strings.Contains(out, "created groups/web (dry run)") {
		t.Errorf("dry run:\n%s", out)
	}
	fails("404", "get", "group", "web")
	if out := ok("apply", "-f", web); !strings.Contains(out, "created groups/web") {
		t.Errorf("apply FILE:\n%s", out)
	}
	bad := writeFile(t, filepath.Join(dir, "groups", "bad.json"), `{"profile":"nope","selector":{"role":"bad"}}`)
	fails("422 Unprocessable Entity", "apply", "-f", bad)

	// select and render.
	if out := ok("select", "--mac", "52:54:00:00:00:31", "role=worker", "cabinet=two"); !strings.Contains(out, "group:    worker-two") || !strings.Contains(out, "ranks below worker-two") {
		t.Errorf("select:\n%s", out)
	}
	if out := ok("select", "--mac", "52:54:00:00:00:77", "-l", "role=services"); !strings.Contains(out, "lease:    10.0.0.104 (no lease yet") {
		t.Errorf("select a new machine:\n%s", out)
	}
	code, out, errOut := cli(t, p, tokens, "render", "ipxe", "--mac", "52:54:00:00:00:77", "role=services")
	if code != 0 || !strings.Contains(out, "ip=10.0.0.104::") || !strings.Contains(errOut, "no lease yet") {
		t.Errorf("render a new machine: %d\n%s%s", code, out, errOut)
	}
	if out := ok("render", "metadata", "--mac", "52:54:00:89:d8:10"); !strings.Contains(out, "IP_ADDRESS=10.0.0.101") {
		t.Errorf("render metadata:\n%s", out)
	}
	fails("400", "render", "ipxe", "--mac", "nope")

	// machines: the inventory after real boots.
	get(t, "http://"+p.boot+"/ipxe?mac=52:54:00:89:d8:10")
	get(t, "http://"+p.boot+"/ignition?mac=52:54:00:89:d8:10")
	get(t, "http://"+p.boot+"/ipxe?mac=52:54:00:00:00:31&role=worker")
	out = ok("machines")
	for _, want := range []string{"node1", "configured", "(discovered)", "booting", "10.0.0.101"} {
		if !strings.Contains(out, want) {
			t.Errorf("machines lacks %q:\n%s", want, out)
		}
	}
	if out := ok("machines", "--state", "booting", "-o", "json"); !strings.Contains(out, `"52:54:00:00:00:31"`) || strings.Contains(out, "node1") {
		t.Errorf("machines --state booting:\n%s", out)
	}

	// leases and delete.
	if out := ok("leases", "--pool", "services"); !strings.Contains(out, "10.0.0.101  52:54:00:89:d8:10  node1") {
		t.Errorf("leases:\n%s", out)
	}
	if out := ok("delete", "lease", "services/10.0.0.102"); !strings.Contains(out, "released") {
		t.Errorf("delete lease:\n%s", out)
	}
	fails("409 Conflict", "delete", "lease", "services", "10.0.0.101")
	fails("409 Conflict", "delete", "profile", "worker")
	ok("delete", "group", "web")
	fails("want KIND NAME", "delete", "group")

	// import-matchbox: converts, reports, applies.
	mb := t.TempDir()
	writeFile(t, filepath.Join(mb, "profiles", "mb.json"), `{"id":"mb","boot":{"kernel":"/k","cmdline":{"console":"ttyS0","quiet":""}},"ignition_id":"mb.yaml","extra":1}`)
	writeFile(t, filepath.Join(mb, "profiles", "old.json"), `{"id":"old","boot":{"kernel":"/k"},"ignition_id":"clc.yaml"}`)
	writeFile(t, filepath.Join(mb, "ignition", "mb.yaml"), "variant: flatcar\nversion: 1.0.0\n")
	writeFile(t, filepath.Join(mb, "ignition", "clc.yaml"), "passwd:\n  users:\n    - name: core\n")
	writeFile(t, filepath.Join(mb, "groups", "mb.json"), `{"profile":"mb","selector":{"MAC":"52-54-00-AB-CD-EF"}}`)
	writeFile(t, filepath.Join(mb, "groups", "old.json"), `{"id":"old","profile":"old","selector":{"role":"old"}}`)
	writeFile(t, filepath.Join(mb, "groups", "num.json"), `{"id":"num","profile":"mb","selector":{"rack":5}}`)
	out = ok("import-matchbox", mb)
	for _, want := range []string{
		`groups/mb.json: id "mb" filled in from the file name`,
		`groups/mb.json: selector key "MAC" lowercased to "mac"`,
		`groups/mb.json: selector mac "52-54-00-AB-CD-EF" normalized to "52:54:00:ab:cd:ef"`,
		`groups/num.json: skipped: selector "rack" is 5, not a string`,
		`ignition/clc.yaml: a Container Linux Config`,
		`profiles/old.json: ignition_id "clc.yaml" removed`,
		`profiles/mb.json: boot.cmdline converted to boot.args`,
		`profiles/mb.json: unknown field "extra" dropped`,
		"created groups/mb",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("import-matchbox does not say %q:\n%s", want, out)
		}
	}
	if out := ok("render", "ipxe", "--mac", "52:54:00:ab:cd:ef"); !strings.Contains(out, "kernel /k console=ttyS0 quiet") {
		t.Errorf("imported profile:\n%s", out)
	}
	conv := filepath.Join(t.TempDir(), "catalog")
	ok("import-matchbox", mb, "--out", conv)
	if c, err := catalog.LoadDir(conv); err != nil || c.Groups["mb"] == nil {
		t.Errorf("import --out: %v", err)
	} else if _, _, err := catalog.Compile(c, nil, catalog.Options{}); err != nil {
		t.Errorf("import --out does not validate: %v", err)
	}

	// export writes what apply reads back unchanged.
	exported := filepath.Join(t.TempDir(), "export")
	if out := ok("export", exported); !strings.Contains(out, "wrote 6 profiles, 7 groups, 1 pools, 3 machines and 7 templates") {
		t.Errorf("export: %s", out)
	}
	if out := ok("apply", "-f", exported, "--prune", "--dry-run"); !strings.Contains(out, "no changes") {
		t.Errorf("apply of the export changes something:\n%s", out)
	}
	fails("not empty", "export", exported)

	// Tokens are re-read on SIGHUP.
	writeFile(t, tokens, "new-token-0123456789abcdef\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitFor(t, "admin tokens reloaded")
	if code, _, errOut := cli(t, p, wrong, "get", "groups"); code != 1 || !strings.Contains(errOut, "401") {
		t.Errorf("old token after reload: %d %s", code, errOut)
	}
	p.stop(t)

	// Without --catalog, API changes persist across restarts.
	p = start(t, nil, "--data-dir", data, "--admin-token-file", tokens)
	if out := ok("get", "groups"); !strings.Contains(out, "mb ") || strings.Contains(out, "web ") {
		t.Errorf("after restart:\n%s", out)
	}
	if code, body := get(t, "http://"+p.boot+"/ipxe?mac=52:54:00:ab:cd:ef"); code != 200 || !strings.Contains(body, "console=ttyS0") {
		t.Errorf("imported group after restart: %d %s", code, body)
	}
	p.stop(t)
}

// TestReloadOverwritesAPIChanges: with --catalog, the directory is the
// source of truth. API changes are written back into it, so SIGHUP keeps
// them; a file edited by hand after an API change wins over that change,
// and the reload logs which.
func TestReloadOverwritesAPIChanges(t *testing.T) {
	cat, data := copyDir(t, testCatalog), t.TempDir()
	p := start(t, nil, "--data-dir", data, "--catalog", cat)
	web := writeFile(t, filepath.Join(t.TempDir(), "groups", "web.json"), `{"profile":"worker","selector":{"role":"web"}}`)
	code, out, errOut := cli(t, p, "", "apply", "-f", web)
	if code != 0 || !strings.Contains(out, "created groups/web") || strings.Contains(errOut, "lasts until the next reload") {
		t.Fatalf("apply: %d %s %s", code, out, errOut)
	}
	if code, _, _ := cli(t, p, "", "delete", "group", "worker-two"); code != 0 {
		t.Fatalf("delete worker-two: %d", code)
	}
	// An API change that the directory also makes is not lost.
	raw := `{"id":"raw-node","name":"changed in both","profile":"raw","selector":{"mac":"52:54:00:aa:bb:cc"}}`
	rawFile := writeFile(t, filepath.Join(t.TempDir(), "groups", "raw-node.json"), raw)
	if code, _, errOut := cli(t, p, "", "apply", "-f", rawFile); code != 0 {
		t.Fatalf("apply raw-node: %s", errOut)
	}
	writeFile(t, filepath.Join(cat, "groups", "raw-node.json"), raw)
	if code, _ := get(t, "http://"+p.boot+"/ipxe?mac=52:54:00:00:00:05&role=web"); code != 200 {
		t.Fatalf("API group not served: %d", code)
	}
	// An API change that a hand edit of the directory then undoes.
	edited := `{"id":"web","name":"edited by hand","profile":"worker","selector":{"role":"web"}}`
	writeFile(t, filepath.Join(cat, "groups", "web.json"), edited)

	p.cmd.Process.Signal(syscall.SIGHUP)
	m := p.waitFor(t, "catalog directory loaded over changes made through the admin API; the directory wins")
	if m["dropped"] != float64(1) || m["objects"] != "groups/web" {
		t.Errorf("dropped %v: %v", m["dropped"], m["objects"])
	}
	// This reload's own "catalog loaded" follows that line: read it here,
	// so that the next reload's wait below is not satisfied by it.
	p.waitFor(t, "catalog loaded")
	if _, out, _ := cli(t, p, "", "get", "group", "web", "-o", "json"); !strings.Contains(out, "edited by hand") {
		t.Errorf("the hand edit lost to the API change: %s", out)
	}
	if code, _, _ := cli(t, p, "", "get", "group", "worker-two"); code == 0 {
		t.Errorf("the group the API deleted is back")
	}
	if _, out, _ := cli(t, p, "", "get", "group", "raw-node", "-o", "json"); !strings.Contains(out, "changed in both") {
		t.Errorf("raw-node: %s", out)
	}
	// A file deleted by hand is deleted on reload.
	if err := os.Remove(filepath.Join(cat, "groups", "web.json")); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitFor(t, "catalog loaded")
	if code, _, _ := cli(t, p, "", "get", "group", "web"); code == 0 {
		t.Errorf("the group whose file was removed survived the reload")
	}
	p.stop(t)

	// At start, the stored catalog is compared with the directory.
	p = start(t, nil, "--data-dir", data)
	if code, _, errOut := cli(t, p, "", "apply", "-f", web); code != 0 {
		t.Fatalf("apply without --catalog: %s", errOut)
	}
	p.stop(t)
	p = start(t, nil, "--data-dir", data, "--catalog", cat)
	// The directory loads while the stored catalog is served (a restart
	// over a stored catalog); the report comes before "catalog loaded".
	logs, _ := p.waitLogs(t, func(logs string) bool { return strings.Contains(logs, `"msg":"catalog loaded"`) })
	if !strings.Contains(logs, `"msg":"catalog directory loaded over a stored catalog that differed from it; the directory wins"`) ||
		!strings.Contains(logs, `"objects":"groups/web"`) {
		t.Errorf("at start, no report of the dropped group:\n%s", logs)
	}
}

// TestServeAdminAuthFlags: authentication makes a public admin address
// acceptable; incomplete or unreadable settings refuse the start, naming
// the flag.
func TestServeAdminAuthFlags(t *testing.T) {
	dir := t.TempDir()
	tokens := writeFile(t, filepath.Join(dir, "tokens"), cliToken+"\n")
	empty := writeFile(t, filepath.Join(dir, "empty"), "# none\n")
	p := start(t, nil, "--data-dir", t.TempDir(), "--admin-addr", "0.0.0.0:0", "--admin-token-file", tokens)
	_, port, _ := net.SplitHostPort(p.admin) // logged as [::]:port
	p.admin = "127.0.0.1:" + port
	if code, _, errOut := cli(t, p, "", "get", "groups"); code != 1 || !strings.Contains(errOut, "401") {
		t.Errorf("public admin without a token: %d %s", code, errOut)
	}
	if code, _, errOut := cli(t, p, tokens, "get", "groups"); code != 0 {
		t.Errorf("public admin with the token: %d %s", code, errOut)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"client CA without TLS", []string{"--admin-client-ca", tokens}, "--admin-client-ca needs --admin-tls-cert"},
		{"cert without key", []string{"--admin-tls-cert", tokens}, "--admin-tls-cert and --admin-tls-key"},
		{"empty token file", []string{"--admin-token-file", empty}, "--admin-token-file"},
		{"missing token file", []string{"--admin-token-file", filepath.Join(dir, "nope")}, "--admin-token-file"},
		{"bad certificate", []string{"--admin-token-file", tokens, "--admin-tls-cert", tokens, "--admin-tls-key", tokens}, "--admin-tls-cert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refusesStart(t, nil, tc.want, tc.args...)
		})
	}
}
