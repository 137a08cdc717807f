package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "provisiond-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "provisiond")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building provisiond: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running `provisiond serve`.
type proc struct {
	cmd       *exec.Cmd
	boot      string // host:port
	admin     string
	rpc       string // with --rpc-addr
	mu        sync.Mutex
	log       bytes.Buffer
	lines     chan map[string]any
	exited    chan error
	exitedErr error
}

func (p *proc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// start runs provisiond serve with args and env, and waits for its
// listeners. It fails the test if provisiond exits first.
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	return startServe(t, env, append([]string{"--log-format", "json", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, args...)...)
}

// startServe is start with serve's arguments as given: the log must be
// JSON and both the boot and the admin listener must be on.
func startServe(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{lines: make(chan map[string]any, 1000), exited: make(chan error, 1)}
	p.cmd = exec.Command(binary, append([]string{"serve"}, args...)...)
	p.cmd.Env = append(os.Environ(), env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log.Write(sc.Bytes())
			p.log.WriteByte('\n')
			p.mu.Unlock()
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				select {
				case p.lines <- m:
				default:
				}
			}
		}
		p.exited <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("provisiond log:\n%s", p.logs())
		}
	})
	deadline := time.After(15 * time.Second)
	for p.boot == "" || p.admin == "" {
		select {
		case m := <-p.lines:
			if m["msg"] == "listening" {
				switch m["listener"] {
				case "boot":
					p.boot = m["addr"].(string)
				case "admin":
					p.admin = m["addr"].(string)
				case "rpc":
					p.rpc = m["addr"].(string)
				}
			}
		case err := <-p.exited:
			t.Fatalf("provisiond exited before listening: %v\n%s", err, p.logs())
		case <-deadline:
			t.Fatalf("provisiond did not listen in time\n%s", p.logs())
		}
	}
	return p
}

// waitFor waits for a log line with msg.
func (p *proc) waitFor(t *testing.T, msg string) map[string]any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-p.lines:
			if m["msg"] == msg {
				return m
			}
		case <-deadline:
			t.Fatalf("no %q log line\n%s", msg, p.logs())
		}
	}
}

// waitLogs waits until the log read so far satisfies ok, and returns it.
// A line the server wrote before answering a request can still be in the
// stderr pipe when the answer arrives: the copier goroutine is not run
// in step with the test, so a check on the log after a request waits.
func (p *proc) waitLogs(t *testing.T, ok func(logs string) bool) (string, bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		logs := p.logs()
		if ok(logs) {
			return logs, true
		}
		if time.Now().After(deadline) {
			return logs, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("provisiond exited with %v\n%s", err, p.logs())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("provisiond did not stop on SIGTERM")
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
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

const testCatalog = "../../testdata/catalog"

func runCmd(args ...string) (int, string, string) {
	cmd := exec.Command(binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return code, out.String(), errb.String()
}

func TestHelpAndVersion(t *testing.T) {
	code, out, _ := runCmd("version")
	if code != 0 || !strings.HasPrefix(out, "provisiond ") {
		t.Errorf("version: %d %q", code, out)
	}
	code, out, _ = runCmd("--help")
	if code != 0 || !strings.Contains(out, "serve") || !strings.Contains(out, "PROVISIOND_") {
		t.Errorf("--help: %d %q", code, out)
	}
	code, _, errOut := runCmd("serve", "--help")
	if code != 0 {
		t.Errorf("serve --help exit %d", code)
	}
	for _, flag := range []string{"addr", "admin-addr", "data-dir", "catalog", "assets-dir", "log-format", "log-level"} {
		if !strings.Contains(errOut, "--"+flag+" ") || !strings.Contains(errOut, envName(flag)) {
			t.Errorf("serve --help does not explain --%s and %s:\n%s", flag, envName(flag), errOut)
		}
	}
	if code, _, _ := runCmd("nonsense"); code != 2 {
		t.Errorf("unknown command exit %d", code)
	}
}

func TestServeEndToEnd(t *testing.T) {
	data := t.TempDir()
	cat := copyDir(t, testCatalog)
	// Flags through the environment.
	p := start(t, []string{"PROVISIOND_CATALOG=" + cat, "PROVISIOND_DATA_DIR=" + data})
	code, body := get(t, "http://"+p.boot+"/ipxe?mac=52-54-00-89-d8-11")
	if code != 200 || !strings.Contains(body, "ip=10.0.0.102::") || !strings.Contains(body, "http://"+p.boot+"/ignition") {
		t.Fatalf("/ipxe: %d %s", code, body)
	}
	code, body = get(t, "http://"+p.boot+"/assets/vmlinuz")
	if code != 200 || body != "KERNEL-BYTES-0123456789" {
		t.Fatalf("assets default to the catalog's assets/: %d %q", code, body)
	}
	// A worker gets a lease? No: its group has no pool. A new pooled machine does.
	code, body = get(t, "http://"+p.boot+"/metadata?mac=52:54:00:77:77:77&role=services")
	if code != 200 || !strings.Contains(body, "IP_ADDRESS=10.0.0.104") {
		t.Fatalf("new services machine: %d %s", code, body)
	}
	code, body = get(t, "http://"+p.admin+"/api/v1/machines")
	if code != 200 || !strings.Contains(body, `"10.0.0.104"`) {
		t.Fatalf("admin machines: %d %s", code, body)
	}

	// SIGHUP with a broken catalog keeps the old one.
	os.WriteFile(filepath.Join(cat, "groups", "worker.json"), []byte(`{"id":"worker","profile":"nope"}`), 0o644)
	p.cmd.Process.Signal(syscall.SIGHUP)
	m := p.waitFor(t, "catalog reload refused; still serving the previous catalog")
	if !strings.Contains(fmt.Sprint(m["err"]), "worker.json") {
		t.Errorf("reload error does not name the file: %v", m["err"])
	}
	if code, _ := get(t, "http://"+p.boot+"/ipxe?mac=52:54:00:00:00:01&role=worker"); code != 200 {
		t.Errorf("old catalog not served after a refused reload: %d", code)
	}
	// SIGHUP with a good change applies it.
	os.WriteFile(filepath.Join(cat, "groups", "worker.json"), []byte(`{"id":"worker","profile":"raw","selector":{"role":"worker"}}`), 0o644)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitFor(t, "catalog loaded")
	if code, body := get(t, "http://"+p.boot+"/ignition?mac=52:54:00:00:00:01&role=worker"); code != 200 || !strings.Contains(body, "/etc/raw") {
		t.Errorf("new catalog not served: %d %s", code, body)
	}
	p.stop(t)

	// Restart on the same data dir, without --catalog: the stored catalog
	// and the leases are served as they were.
	p = start(t, nil, "--data-dir", data)
	code, body = get(t, "http://"+p.boot+"/metadata?mac=52:54:00:77:77:77&role=services")
	if code != 200 || !strings.Contains(body, "IP_ADDRESS=10.0.0.104") {
		t.Fatalf("after restart: %d %s", code, body)
	}
	// The inventory was flushed on shutdown.
	code, body = get(t, "http://"+p.admin+"/api/v1/machines")
	if !strings.Contains(body, `"state": "booting"`) {
		t.Errorf("inventory after restart: %s", body)
	}
	p.stop(t)
}

func TestServeRefusesBadStart(t *testing.T) {
	cat := copyDir(t, testCatalog)
	os.WriteFile(filepath.Join(cat, "groups", "dup.json"), []byte(`{"id":"dup","profile":"worker","selector":{"role":"worker"}}`), 0o644)
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"invalid catalog", []string{"--catalog", cat}, nil, "dup.json"},
		{"missing catalog", []string{"--catalog", "/nonexistent/x"}, nil, "--catalog"},
		{"missing assets", []string{"--assets-dir", "/nonexistent/x"}, nil, "--assets-dir"},
		{"public admin without auth", []string{"--admin-addr", "0.0.0.0:0"}, nil, "--admin-addr"},
		{"bad log format", []string{"--log-format", "xml"}, nil, "--log-format"},
		{"bad env", nil, []string{"PROVISIOND_MAX_QUERY_BYTES=lots"}, "PROVISIOND_MAX_QUERY_BYTES"},
		{"stray argument", []string{"extra"}, nil, "extra"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			refusesStart(t, tc.env, tc.want, tc.args...)
		})
	}
}

func TestDataDirLocked(t *testing.T) {
	data := t.TempDir()
	start(t, nil, "--data-dir", data, "--catalog", testCatalog)
	out, err := exec.Command(binary, "serve", "--data-dir", data, "--addr", "127.0.0.1:0", "--admin-addr", "").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "locked") {
		t.Fatalf("second provisiond on the same data dir: %v %s", err, out)
	}
}

// refusesStart runs provisiond serve (on free loopback ports, a fresh data
// dir) with args and extra environment, and fails unless it exits with an
// error whose output contains want: the flag, variable or file at fault.
func refusesStart(t *testing.T, env []string, want string, args ...string) {
	t.Helper()
	args = append([]string{"serve", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, args...)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("started: %s", out)
	}
	if !strings.Contains(string(out), want) {
		t.Errorf("output does not name %q:\n%s", want, out)
	}
}
