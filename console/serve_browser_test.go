//go:build browser

package console

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The browser test runs against a real `provisiond serve`, built once
// from ../cmd/provisiond: the console as an operator gets it, on the
// admin listener, with machines booting through the real boot listener.

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

func provisiondBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "provisiond-console-bin")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "provisiond")
		out, err := exec.Command("go", "build", "-o", binary, "../cmd/provisiond").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building provisiond: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// served is a running `provisiond serve` with the production example
// catalog, a bbolt store in a temporary directory and an admin token.
type served struct {
	BootURL, AdminURL string

	cmd    *exec.Cmd
	mu     sync.Mutex
	log    bytes.Buffer
	exited chan error
}

func (s *served) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// startServe starts provisiond serve on 127.0.0.1 ports it picks, and
// waits for both listeners. It stops it (SIGTERM, then the process must
// exit cleanly) when the test ends.
func startServe(t *testing.T) *served {
	t.Helper()
	dir := t.TempDir()
	tokens := filepath.Join(dir, "admin-tokens")
	if err := os.WriteFile(tokens, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &served{exited: make(chan error, 1)}
	s.cmd = exec.Command(provisiondBinary(t), "serve", "--log-format", "json",
		"--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"),
		"--catalog", "../examples/production", "--admin-token-file", tokens)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan map[string]any, 4)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.mu.Lock()
			s.log.Write(sc.Bytes())
			s.log.WriteByte('\n')
			s.mu.Unlock()
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "listening" {
				select {
				case listening <- m:
				default:
				}
			}
		}
		s.exited <- s.cmd.Wait()
	}()
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-s.exited:
			if err != nil {
				t.Errorf("provisiond serve exited with %v", err)
			}
		case <-time.After(60 * time.Second):
			s.cmd.Process.Kill()
			t.Errorf("provisiond serve did not stop on SIGTERM")
		}
		if t.Failed() {
			t.Logf("provisiond serve's log:\n%s", s.logs())
		}
	})
	deadline := time.After(60 * time.Second)
	for s.BootURL == "" || s.AdminURL == "" {
		select {
		case m := <-listening:
			switch m["listener"] {
			case "boot":
				s.BootURL = "http://" + m["addr"].(string)
			case "admin":
				s.AdminURL = "http://" + m["addr"].(string)
			}
		case err := <-s.exited:
			t.Fatalf("provisiond serve exited before listening: %v\n%s", err, s.logs())
		case <-deadline:
			t.Fatalf("provisiond serve did not listen in time\n%s", s.logs())
		}
	}
	return s
}

// boot makes one boot request, as a machine's firmware does.
func (s *served) boot(t testing.TB, endpoint string, q url.Values) int {
	t.Helper()
	return bootAt(t, s.BootURL, endpoint, q)
}

func (s *served) bootFleet(t testing.TB) {
	t.Helper()
	bootFleetAt(t, s.BootURL)
}

// machineState returns a machine's state as the admin API reports it.
func (s *served) machineState(t *testing.T, id string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", s.AdminURL+"/api/v1/machines/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v struct {
		State string `json:"state"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &v) != nil {
		t.Fatalf("GET /api/v1/machines/%s: %d %s", id, resp.StatusCode, b)
	}
	return v.State
}
