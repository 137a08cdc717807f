package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// oneLine fails unless s is exactly one line that starts with prefix and
// contains each of want.
func oneLine(t *testing.T, what, s, prefix string, want ...string) {
	t.Helper()
	if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") || !strings.HasPrefix(s, prefix) {
		t.Errorf("%s: want one line starting with %q, got:\n%s", what, prefix, s)
	}
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s: %q lacks %q", what, s, w)
		}
	}
}

// TestCLIMistakes: each mistake gets one line in one style, the closest
// valid name and the exit status docs/api.md gives (2 usage, 1 runtime),
// without contacting a server for a usage mistake.
func TestCLIMistakes(t *testing.T) {
	unreachable := "http://127.0.0.1:1" // nothing listens on port 1
	tests := []struct {
		name   string
		args   []string
		code   int
		prefix string
		want   []string
	}{
		{"unknown verb", []string{"serv"}, 2, "provisiond: ", []string{`unknown command "serv"`, "did you mean serve?", "provisiond --help"}},
		{"unknown verb close to describe", []string{"descibe", "machine", "x"}, 2, "provisiond: ", []string{"did you mean describe?"}},
		{"unknown flag", []string{"get", "groups", "--outptu", "json"}, 2, "provisiond: get: ", []string{"unknown flag --outptu; did you mean -o?", "(provisiond get --help)"}},
		{"unknown flag close to one", []string{"leases", "--pol", "x"}, 2, "provisiond: leases: ", []string{"did you mean --pool?"}},
		{"unknown serve flag", []string{"serve", "--adr", ":0"}, 2, "provisiond: serve: ", []string{"did you mean --addr?", "provisiond serve --help"}},
		{"bad -o", []string{"--server", unreachable, "get", "groups", "-o", "xml"}, 2, "provisiond: get: ", []string{`invalid value "xml" for flag -o: want table, json or yaml`}},
		{"bad -o on machines", []string{"machines", "-o", "xml", "--server", unreachable}, 2, "provisiond: machines: ", []string{"want table, json or yaml"}},
		{"render -o json for a script", []string{"render", "ipxe", "--mac", "52:54:00:00:00:01", "-o", "json", "--server", unreachable}, 2, "provisiond: render: ", []string{"only render metadata"}},
		{"unknown kind", []string{"get", "gropus"}, 2, "provisiond: get: ", []string{`unknown kind "gropus"`, "did you mean groups?"}},
		{"describe a group", []string{"describe", "group", "x"}, 2, "provisiond: describe: ", []string{"only machines are described"}},
		{"bad --server", []string{"--server", "ftp://x", "get", "groups"}, 2, "provisiond: get: ", []string{`--server "ftp://x"`}},
		{"server not running", []string{"--server", unreachable, "get", "groups"}, 1, "provisiond: get: ",
			[]string{"cannot reach the admin API at " + unreachable, "connection refused", "is provisiond serve running there? set --server or PROVISIOND_SERVER"}},
		{"version with an argument", []string{"version", "x"}, 2, "provisiond: version: ", []string{"takes no arguments"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(tc.args...)
			if code != tc.code || out != "" {
				t.Errorf("exit %d, stdout %q; want %d and nothing", code, out, tc.code)
			}
			oneLine(t, strings.Join(tc.args, " "), errOut, tc.prefix, tc.want...)
			if strings.Contains(errOut, "/api/v1") {
				t.Errorf("the error names an API route: %s", errOut)
			}
		})
	}
}

// TestVerbHelp: each verb's --help is its own, exit 0.
func TestVerbHelp(t *testing.T) {
	for verb, want := range map[string]string{
		"leases":          "Usage: provisiond leases",
		"get":             "Usage: provisiond get KIND",
		"describe":        "Usage: provisiond describe machine NAME|MAC",
		"machines":        "--watch-for",
		"render":          "--json is the old spelling",
		"import-matchbox": "--allow-fallthrough",
		"serve":           "Usage: provisiond serve",
	} {
		code, _, errOut := runCmd(verb, "--help")
		if code != 0 || !strings.Contains(errOut, want) {
			t.Errorf("%s --help: exit %d, lacks %q:\n%s", verb, code, want, errOut)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCmd("version")
	if code != 0 || !strings.HasPrefix(out, "provisiond ") || !strings.Contains(out, "\nrevision: ") || !strings.Contains(out, "module:   github.com/provisiond/provisiond") {
		t.Errorf("version: %d\n%s", code, out)
	}
}

// TestServeStartErrors: serve's mistakes and failures are one line in the
// same style as the client's, 2 for a flag's value and 1 for a failure.
func TestServeStartErrors(t *testing.T) {
	cat := copyDir(t, testCatalog)
	os.WriteFile(filepath.Join(cat, "groups", "dup.json"), []byte(`{"id":"dup","profile":"worker","selector":{"role":"worker"}}`), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"address that is not an IP", []string{"--addr", "300.1.1.1:80"}, 2, `--addr "300.1.1.1:80": 300.1.1.1 is not a valid IP address`},
		{"admin address that is not an IP", []string{"--admin-addr", "127.0.0.256:0"}, 2, `--admin-addr "127.0.0.256:0": 127.0.0.256 is not a valid IP address`},
		{"port that is not a number", []string{"--addr", "127.0.0.1:http"}, 2, `port "http" is not a number`},
		{"address without a port", []string{"--addr", "127.0.0.1"}, 2, `want HOST:PORT`},
		{"missing catalog", []string{"--catalog", "/nonexistent/x"}, 2, "--catalog"},
		{"invalid catalog", []string{"--catalog", cat}, 1, "dup.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--log-level", "error"}, tc.args...)
			code, _, errOut := runCmd(args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", code, tc.code, errOut)
			}
			oneLine(t, tc.name, errOut, "provisiond: serve: ", tc.want)
			if strings.Contains(errOut, "lookup") {
				t.Errorf("an address was looked up: %s", errOut)
			}
		})
	}
}

// TestServeWithoutCatalogSaysHow: an empty store and no --catalog is
// served, with a warning that says how to give it a catalog.
func TestServeWithoutCatalogSaysHow(t *testing.T) {
	p := start(t, nil, "--data-dir", t.TempDir())
	logs := p.logs()
	if !strings.Contains(logs, "no catalog: every machine is answered 404. Give one with --catalog DIR") || !strings.Contains(logs, "provisiond apply -f DIR") {
		t.Errorf("no hint:\n%s", logs)
	}
	p.stop(t)
}

// TestCLIConnectionFlagsAnywhere: connection flags before the verb, after
// it, or from the environment.
func TestCLIConnectionFlagsAnywhere(t *testing.T) {
	p := start(t, nil, "--data-dir", t.TempDir(), "--catalog", testCatalog)
	get(t, "http://"+p.boot+"/metadata?mac=52:54:00:89:d8:10")
	for _, args := range [][]string{
		{"--server", "http://" + p.admin, "leases"},
		{"--server=http://" + p.admin, "leases", "--pool", "services"},
		{"leases", "--server", "http://" + p.admin},
	} {
		code, out, errOut := runCmd(args...)
		if code != 0 || !strings.Contains(out, "10.0.0.101  52:54:00:89:d8:10  node1") {
			t.Errorf("%q: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	p.stop(t)
}

// TestDescribeMachine: a registered machine by name and by mac, and a
// discovered one by mac, with its events.
func TestDescribeMachine(t *testing.T) {
	p := start(t, nil, "--data-dir", t.TempDir(), "--catalog", testCatalog)
	get(t, "http://"+p.boot+"/ipxe?mac=52:54:00:89:d8:10")
	get(t, "http://"+p.boot+"/ignition?mac=52:54:00:89:d8:10")
	get(t, "http://"+p.boot+"/ipxe?mac=52:54:00:00:00:31&role=worker&cabinet=two")
	// describe waits until the output holds ready: a boot is recorded
	// once its answer is sent, maybe after the client has read it.
	describe := func(id, ready string) string {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			code, out, errOut := cli(t, p, "", "describe", "machine", id)
			if code == 0 && strings.Contains(out, ready) {
				return out
			}
			if time.Now().After(deadline) {
				t.Fatalf("describe machine %s: exit %d, no %q\n%s%s", id, code, ready, out, errOut)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, id := range []string{"node1", "52-54-00-89-D8-10"} {
		out := describe(id, "/ignition  200")
		for _, want := range []string{
			"Name:        node1 (registered)", "MAC:         52:54:00:89:d8:10", "Labels:      cabinet=one,role=services",
			"State:       configured", "Group:       services (last served)", "Profile:     etcd3",
			"Leases:      services=10.0.0.101", "Pinned:      services=10.0.0.101", "Last seen:   ", "(/ignition)",
			"  TIME", "/ipxe      200", "/ignition  200",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("describe machine %s lacks %q:\n%s", id, want, out)
			}
		}
		if strings.Index(out, "/ipxe ") > strings.Index(out, "/ignition ") {
			t.Errorf("events not oldest first:\n%s", out)
		}
	}
	out := describe("52:54:00:00:00:31", "/ipxe")
	for _, want := range []string{"Name:        - (discovered, not registered)", "State:       booting", "Group:       worker-two (last served)"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe a discovered machine lacks %q:\n%s", want, out)
		}
	}
	// A registered machine that never booted: what it would get.
	code, out, errOut := cli(t, p, "", "describe", "machine", "node2")
	if code != 0 || !strings.Contains(out, "Group:       services (would get; not served yet)") || !strings.Contains(out, "Events: none") {
		t.Errorf("describe machine node2: %d\n%s%s", code, out, errOut)
	}
	code, out, _ = cli(t, p, "", "describe", "machine", "node1", "-o", "json")
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); code != 0 || err != nil || m["name"] != "node1" || m["events"] == nil {
		t.Errorf("describe -o json: %d %v\n%s", code, err, out)
	}
	code, _, errOut = cli(t, p, "", "describe", "machine", "nobody")
	oneLine(t, "describe nobody", errOut, "provisiond: describe: ", "machine nobody")
	if code != 1 {
		t.Errorf("describe nobody: exit %d", code)
	}
	p.stop(t)
}

// TestMachinesWatch: --watch prints the list, prints it again when a new
// machine boots, and stops on SIGINT with exit 0.
func TestMachinesWatch(t *testing.T) {
	p := start(t, nil, "--data-dir", t.TempDir(), "--catalog", testCatalog)
	cmd := exec.Command(binary, "machines", "--watch", "--interval", "100ms", "--server", "http://"+p.admin)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	var mu sync.Mutex
	var out strings.Builder
	lines := make(chan string, 1000)
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			mu.Lock()
			out.WriteString(sc.Text() + "\n")
			mu.Unlock()
			lines <- sc.Text()
		}
		done <- cmd.Wait()
	}()
	waitLine := func(substr string) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case l := <-lines:
				if strings.Contains(l, substr) {
					return
				}
			case <-deadline:
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("no line with %q:\n%s\n%s", substr, out.String(), errb.String())
			}
		}
	}
	waitLine("node1")
	get(t, "http://"+p.boot+"/ipxe?mac=52:54:00:00:00:77&role=worker")
	waitLine("52:54:00:00:00:77")
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("machines --watch after SIGINT: %v\n%s", err, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("machines --watch did not stop on SIGINT")
	}
	mu.Lock()
	if !strings.Contains(out.String(), "\n# 20") {
		t.Errorf("the second list has no time line:\n%s", out.String())
	}
	mu.Unlock()
	p.stop(t)
}

// TestRenderOutput: -o json and the deprecated --json give the same
// metadata; the deprecation is said on stderr.
func TestRenderOutput(t *testing.T) {
	p := start(t, nil, "--data-dir", t.TempDir(), "--catalog", testCatalog)
	_, viaO, _ := cli(t, p, "", "render", "metadata", "--mac", "52:54:00:89:d8:10", "-o", "json")
	code, viaJSON, errOut := cli(t, p, "", "render", "metadata", "--mac", "52:54:00:89:d8:10", "--json")
	var m map[string]any
	if err := json.Unmarshal([]byte(viaO), &m); err != nil || viaO != viaJSON || code != 0 {
		t.Errorf("-o json %q, --json %q (%d, %v)", viaO, viaJSON, code, err)
	}
	if !strings.Contains(errOut, "--json is deprecated; use -o json") {
		t.Errorf("--json not said deprecated: %q", errOut)
	}
	if _, out, _ := cli(t, p, "", "render", "metadata", "--mac", "52:54:00:89:d8:10", "-o", "yaml"); !strings.Contains(out, "  address: 10.0.0.101\n") {
		t.Errorf("-o yaml:\n%s", out)
	}
	p.stop(t)
}

// TestImportMatchboxRefusesFallthrough: a group that cannot be converted,
// whose machines would fall to another group, refuses the import, naming
// both, unless --allow-fallthrough.
func TestImportMatchboxRefusesFallthrough(t *testing.T) {
	mb := t.TempDir()
	writeFile(t, filepath.Join(mb, "profiles", "install.json"), `{"id":"install","boot":{"kernel":"/k"}}`)
	writeFile(t, filepath.Join(mb, "groups", "install.json"), `{"id":"install","profile":"install","selector":{"role":"worker"}}`)
	writeFile(t, filepath.Join(mb, "groups", "installed.json"), `{"id":"installed","profile":"gone","selector":{"role":"worker","os":"installed"}}`)
	out := filepath.Join(t.TempDir(), "catalog")
	code, stdout, errOut := runCmd("import-matchbox", mb, "--out", out)
	if code != 1 || !strings.Contains(errOut, `groups/installed.json: group "installed" is left out (profile "gone" does not exist`) ||
		!strings.Contains(errOut, `; its machines would fall to group "install"`) || !strings.Contains(errOut, "--allow-fallthrough") {
		t.Errorf("import-matchbox: exit %d\n%s%s", code, stdout, errOut)
	}
	if !strings.HasPrefix(errOut, "provisiond: import-matchbox: refused: ") {
		t.Errorf("error style: %q", errOut)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a refused import wrote %s", out)
	}
	code, stdout, errOut = runCmd("import-matchbox", mb, "--out", out, "--allow-fallthrough")
	if code != 0 || !strings.Contains(stdout, "wrote "+out) || !strings.Contains(errOut, `warning: --allow-fallthrough:`) {
		t.Errorf("import-matchbox --allow-fallthrough: exit %d\n%s%s", code, stdout, errOut)
	}
	if _, err := os.Stat(filepath.Join(out, "groups", "install.json")); err != nil {
		t.Errorf("--allow-fallthrough did not write the catalog: %v", err)
	}
}
