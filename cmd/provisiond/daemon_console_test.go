package main

import (
	"bufio"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// consoleLogin signs in to the console at admin with token, as a browser
// does: the form's token from the login page, then the post.
func consoleLogin(t *testing.T, admin, token string) (*http.Client, int) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(admin + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_, rest, ok := strings.Cut(string(page), `name="csrf" value="`)
	if !ok {
		t.Fatalf("no form token on the login page (%d):\n%s", resp.StatusCode, page)
	}
	csrf := rest[:strings.IndexByte(rest, '"')]
	req, _ := http.NewRequest("POST", admin+"/console/login", strings.NewReader(url.Values{"csrf": {csrf}, "token": {token}, "next": {"/console/machines"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", admin)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return c, resp.StatusCode
}

// TestDaemonConsole: provisiond serve mounts the console beside the admin
// API on the admin listener, with its tokens; the console sees the
// machines booted through the boot listener and streams a new boot live;
// the admin API answers as before; Stop ends the live stream instead of
// waiting for it.
func TestDaemonConsole(t *testing.T) {
	const token = "console-daemon-token-0123456789abcdef"
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	os.WriteFile(tokens, []byte(token+"\n"), 0o600)
	cfg := daemonConfig(t, "--catalog", copyDir(t, testCatalog), "--admin-token-file", tokens, "--shutdown-timeout", "5m")
	d := newDaemon(cfg, slog.New(slog.DiscardHandler))
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	defer func() {
		select {
		case <-stopped:
		default:
			d.Stop()
		}
	}()
	boot, admin := d.URL("boot"), d.URL("admin")
	if code, _ := httpGet(t, boot+"/ipxe?mac=52:54:00:00:00:01&role=worker"); code != 200 {
		t.Fatalf("/ipxe: %d", code)
	}

	// Without a session: the login form, for pages; 401 for the stream.
	if code, body := httpGet(t, admin+"/console/machines"); code != 200 || !strings.Contains(body, `id="login-form"`) {
		t.Fatalf("/console/machines without a session: %d\n%s", code, body)
	}
	if code, _ := httpGet(t, admin+"/console/events"); code != http.StatusUnauthorized {
		t.Errorf("/console/events without a session: %d, want 401", code)
	}
	// The admin API is still there, with its own authentication.
	if code, _ := httpGet(t, admin+"/api/v1/groups"); code != http.StatusUnauthorized {
		t.Errorf("/api/v1/groups without a token: %d, want 401", code)
	}
	if _, code := consoleLogin(t, admin, "not-the-token"); code != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d, want 401", code)
	}
	c, code := consoleLogin(t, admin, token)
	if code != http.StatusSeeOther {
		t.Fatalf("signing in: %d, want 303", code)
	}
	resp, err := c.Get(admin + "/console/machines/52:54:00:00:00:01")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"52:54:00:00:00:01", "#!ipxe", "previewed with the labels of the group it was last served (role=worker)", `id="action-reprovision"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the machine page does not show %q:\n%s", want, page)
		}
	}

	// A boot through the boot listener reaches the live stream.
	// No client timeout: only the server may end the stream.
	stream, err := (&http.Client{Jar: c.Jar}).Get(admin + "/console/events")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitLine := func(what string, ok func(string) bool) {
		t.Helper()
		deadline := time.After(60 * time.Second)
		for {
			select {
			case l, open := <-lines:
				if !open {
					t.Fatalf("the stream ended before %s", what)
				}
				if ok(l) {
					return
				}
			case <-deadline:
				t.Fatalf("no %s on the stream", what)
			}
		}
	}
	waitLine("the stream's start", func(l string) bool { return l == ": live" })
	if code, _ := httpGet(t, boot+"/ipxe?mac=52:54:00:00:00:02&role=worker"); code != 200 {
		t.Fatalf("/ipxe: %d", code)
	}
	waitLine("the new boot", func(l string) bool {
		return strings.HasPrefix(l, "data: ") && strings.Contains(l, `"mac":"52:54:00:00:00:02"`)
	})

	// Stop ends the stream (--shutdown-timeout is 5 minutes: had Stop
	// waited for the browser, the stream would still be open).
	go func() { d.Stop(); close(stopped) }()
	ended := time.After(60 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-lines:
		case <-ended:
			t.Fatal("Stop did not end the console's live stream")
		}
	}
	select {
	case <-stopped:
	case <-time.After(60 * time.Second):
		t.Fatal("Stop did not return after the stream ended")
	}
}

// TestDaemonConsoleTokenRemoved: SIGHUP (Reload) re-reads the admin
// tokens; a browser signed in with a token that was removed is signed out
// and its live stream ends, and the new token signs in.
func TestDaemonConsoleTokenRemoved(t *testing.T) {
	const oldToken, newToken = "console-old-token-0123456789abcdef", "console-new-token-0123456789abcdef"
	tokens := filepath.Join(t.TempDir(), "tokens")
	os.WriteFile(tokens, []byte(oldToken+"\n"), 0o600)
	cfg := daemonConfig(t, "--catalog", copyDir(t, testCatalog), "--admin-token-file", tokens)
	d := newDaemon(cfg, slog.New(slog.DiscardHandler))
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	admin := d.URL("admin")
	c, code := consoleLogin(t, admin, oldToken)
	if code != http.StatusSeeOther {
		t.Fatalf("signing in: %d", code)
	}
	stream, err := (&http.Client{Jar: c.Jar}).Get(admin + "/console/events")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if stream.StatusCode != http.StatusOK {
		t.Fatalf("/console/events: %d", stream.StatusCode)
	}
	ended := make(chan struct{})
	go func() { io.Copy(io.Discard, stream.Body); close(ended) }()

	os.WriteFile(tokens, []byte(newToken+"\n"), 0o600)
	d.Reload(t.Context())
	select {
	case <-ended:
	case <-time.After(60 * time.Second):
		t.Fatal("the live stream of a removed token's session did not end")
	}
	resp, err := c.Get(admin + "/console/machines")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/login") {
		t.Errorf("a removed token's session: %d to %q, want the login form", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, code := consoleLogin(t, admin, oldToken); code != http.StatusUnauthorized {
		t.Errorf("the removed token signs in: %d", code)
	}
	if _, code := consoleLogin(t, admin, newToken); code != http.StatusSeeOther {
		t.Errorf("the new token: %d, want 303", code)
	}
}
