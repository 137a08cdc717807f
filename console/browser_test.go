//go:build browser

package console

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium is Debian's chromium package.
const chromium = "/usr/bin/chromium"

// screenshotDir is where the test saves a screenshot of every page:
// $PROVISIOND_CONSOLE_SCREENSHOTS, or a temporary directory.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("PROVISIOND_CONSOLE_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// browser drives one headless Chromium tab.
type browser struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	shot int
}

func newBrowser(t *testing.T) *browser {
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("%s is missing: install Debian's chromium package (apt-get install chromium) to run the console's browser test", chromium)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Run starts the browser; its context must not time out.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}
	return &browser{t: t, ctx: ctx, dir: screenshotDir(t)}
}

// do runs actions, failing the test after a generous bound.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// run runs one action that returns a value.
func run[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// text returns an element's visible text.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return run(b, "text of "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// waitFor waits until a JavaScript expression is true, across a
// navigation (which interrupts a poll: it is started again).
func (b *browser) waitFor(what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second)))
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// screenshot saves the whole page as NN-name.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png := run(b, "screenshot "+name, chromedp.FullScreenshot(100))
	b.shot++
	path := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.shot, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", path)
}

func (b *browser) location() string {
	b.t.Helper()
	return run(b, "location", chromedp.Location())
}

// TestConsoleInChromium drives the console of a real provisiond serve in
// a real headless Chromium, against machines booting through its boot
// listener: refused without a token, logged in, machines listed, one
// machine opened, new boots appearing live, forged form posts refused, a
// genuine one reprovisioning the machine, at desktop and phone widths.
func TestConsoleInChromium(t *testing.T) {
	b := newBrowser(t)
	r := startServe(t)
	r.bootFleet(t)
	base := r.AdminURL + "/console"

	// Refused without a token: every page leads to the login form.
	b.do("opening the console", chromedp.Navigate(base+"/machines"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	if loc := b.location(); !strings.HasPrefix(loc, base+"/login?next=") {
		t.Fatalf("without a session the console went to %s", loc)
	}
	b.screenshot("login")
	b.do("a wrong token", chromedp.SendKeys(chromedp.CSS("#token"), "not-the-admin-token-0000"), chromedp.Click(chromedp.CSS("#login-form button")),
		chromedp.WaitVisible(chromedp.CSS("#login-error")))
	if got := b.text("#login-error"); got != "That token is not accepted." {
		t.Errorf("wrong token: %q", got)
	}
	b.screenshot("login-refused")
	b.do("a page after a refused login", chromedp.Navigate(base+"/machines"), chromedp.WaitVisible(chromedp.CSS("#login-form")))

	// Log in; see the machines that booted.
	b.do("logging in", chromedp.SendKeys(chromedp.CSS("#token"), testToken), chromedp.Click(chromedp.CSS("#login-form button")),
		chromedp.WaitVisible(chromedp.CSS("#machines")))
	if loc := b.location(); loc != base+"/machines" {
		t.Errorf("after login: %s", loc)
	}
	table := b.text("#machines")
	for _, want := range []string{"node1", node1MAC, "10.0.0.101", "configured", worker1, worker2, "booting", strangerM, "discovered"} {
		if !strings.Contains(table, want) {
			t.Errorf("the machines table does not show %q:\n%s", want, table)
		}
	}
	b.waitFor("the live list to connect", `document.getElementById("live-status").textContent === "live"`)
	height := run(b, "live box height", chromedp.Evaluate[float64](`document.getElementById("live").getBoundingClientRect().height`))
	tableTop := run(b, "table position", chromedp.Evaluate[float64](`document.getElementById("machines").getBoundingClientRect().top`))
	b.screenshot("machines")

	// A new machine boots: it appears in the live list, and nothing moves.
	const worker3 = "52:54:00:aa:00:03"
	if code := r.boot(t, "/ipxe", url.Values{"mac": {worker3}, "role": {"worker"}}); code != 200 {
		t.Fatalf("booting worker3: %d", code)
	}
	b.waitFor("worker3 in the live list", `document.querySelector("#live tbody tr").textContent.includes("`+worker3+`")`)
	for range 12 { // more than the list's rows
		r.boot(t, "/ipxe", url.Values{"mac": {worker3}, "role": {"worker"}})
	}
	b.waitFor("the live list to fill", `document.querySelectorAll("#live tbody tr").length === 8`)
	if h := run(b, "live box height", chromedp.Evaluate[float64](`document.getElementById("live").getBoundingClientRect().height`)); h != height {
		t.Errorf("the live box changed height from %v to %v", height, h)
	}
	if top := run(b, "table position", chromedp.Evaluate[float64](`document.getElementById("machines").getBoundingClientRect().top`)); top != tableTop {
		t.Errorf("the machines table moved from %v to %v when events came in", tableTop, top)
	}
	b.screenshot("machines-live")

	// Filter and search.
	b.do("filtering by state", chromedp.Navigate(base+"/machines?state=booting"), chromedp.WaitVisible(chromedp.CSS("#machines")))
	if got := b.text("#machines"); !strings.Contains(got, worker2) || strings.Contains(got, node1MAC) {
		t.Errorf("state=booting shows:\n%s", got)
	}
	b.do("searching", chromedp.Navigate(base+"/machines"), chromedp.WaitVisible(chromedp.CSS("#machines")),
		chromedp.SendKeys(chromedp.CSS(`input[name="q"]`), "node2"), chromedp.Click(chromedp.CSS(".filter button")))
	b.waitFor("the search's page", `location.search === "?q=node2&state=&group=&label=" && document.readyState === "complete"`)
	if got := b.text("#summary"); !strings.HasPrefix(got, "1 of 7 machines") {
		t.Errorf("searching node2: %q", got)
	}
	b.screenshot("machines-search")

	// Open one machine; watch its own boot appear in its timeline.
	b.do("opening node1", chromedp.Navigate(base+"/machines"), chromedp.WaitVisible(chromedp.CSS("#machines")),
		chromedp.Click(chromedp.CSS(`#machines a[href="/console/machines/node1"]`)), chromedp.WaitVisible(chromedp.CSS("#facts")))
	facts := b.text("#facts")
	for _, want := range []string{node1MAC, "services"} {
		if !strings.Contains(facts, want) {
			t.Errorf("node1's facts do not show %q:\n%s", want, facts)
		}
	}
	if got := b.text("#preview-ipxe"); !strings.HasPrefix(got, "#!ipxe") || !strings.Contains(got, "flatcar_production_pxe.vmlinuz") {
		t.Errorf("node1's /ipxe preview:\n%s", got)
	}
	if got := b.text("#preview-config"); !strings.Contains(got, `"ignition"`) {
		t.Errorf("node1's Ignition preview:\n%s", got)
	}
	b.waitFor("node1's timeline to connect", `document.getElementById("live-status").textContent === "live"`)
	b.screenshot("machine")
	if code := r.boot(t, "/ipxe", url.Values{"mac": {node1MAC}}); code != 200 {
		t.Fatalf("rebooting node1: %d", code)
	}
	b.waitFor("node1's new boot in its timeline", `document.querySelectorAll("#timeline tbody tr").length === 3 && document.querySelector("#timeline tbody tr").textContent.includes("/ipxe")`)
	if got := b.text("#timeline tbody tr:first-child"); strings.Contains(got, worker3) {
		t.Errorf("another machine's event in node1's timeline: %q", got)
	}
	b.screenshot("machine-live")

	// A form posted with a token that is not the session's: refused.
	b.do("forging the form token", chromedp.SetAttributeValue(chromedp.CSS(`form[action$="/action"] input[name="csrf"]`), "value", "forged"),
		chromedp.Click(chromedp.CSS("#action-reprovision")), chromedp.WaitVisible(chromedp.CSS("#problem")))
	if got := b.text("#problem"); !strings.Contains(got, "the form's token is missing or not this session's") {
		t.Errorf("a wrong form token: %q", got)
	}
	b.screenshot("forged-token-refused")

	// A form posted from another site (another port of the same host, so
	// the SameSite cookie is sent): refused.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>win a prize</title><form id="f" method="post" action="%s/machines/node1/action">
<input type="hidden" name="action" value="reprovision"><input type="hidden" name="csrf" value="guess"></form>
<script>document.getElementById("f").submit()</script>`, base)
	}))
	defer evil.Close()
	b.do("a form from another site", chromedp.Navigate(evil.URL), chromedp.WaitVisible(chromedp.CSS("#problem")))
	if got := b.text("#problem"); got != "Refused: this form was posted from another site." {
		t.Errorf("a cross-site form: %q", got)
	}
	b.screenshot("cross-site-refused")
	if st := r.machineState(t, "node1"); st != "booting" { // its last request was /ipxe
		t.Fatalf("after the forged posts node1 is %s, want booting (untouched)", st)
	}

	// The genuine form works.
	b.do("reprovisioning node1", chromedp.Navigate(base+"/machines/node1"), chromedp.WaitVisible(chromedp.CSS("#action-reprovision")),
		chromedp.Click(chromedp.CSS("#action-reprovision")), chromedp.WaitVisible(chromedp.CSS("#flash")))
	if got := b.text("#flash"); !strings.HasPrefix(got, "node1 is marked reprovisioning: no bmc registered") {
		t.Errorf("flash %q", got)
	}
	if st := r.machineState(t, "node1"); st != "reprovisioning" {
		t.Errorf("after Reprovision node1 is %s", st)
	}
	b.screenshot("machine-reprovisioned")

	// The other pages.
	for _, p := range []struct{ path, wait, want string }{
		{"/pools", ".pool svg.bar", "services"},
		{"/leases", "#lease-table", "10.0.0.101"},
		{"/groups", "#group-worker", "worker"},
		{"/profiles", "#profile-services", "services"},
		{"/activity", "#live", worker3},
	} {
		b.do("opening "+p.path, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)))
		if got := b.text("main"); !strings.Contains(got, p.want) {
			t.Errorf("%s does not show %q:\n%s", p.path, p.want, got)
		}
		b.screenshot(strings.TrimPrefix(p.path, "/"))
	}

	// A phone: the same pages, no sideways scrolling of the page.
	b.do("a phone's viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	for _, p := range []struct{ path, wait string }{{"/machines", "#machines"}, {"/machines/node1", "#facts"}, {"/pools", ".pool"}} {
		b.do("opening "+p.path+" on a phone", chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)))
		if w := run(b, "page width", chromedp.Evaluate[float64](`document.documentElement.scrollWidth`)); w > 390 {
			t.Errorf("%s is %v px wide on a 390 px phone", p.path, w)
		}
		b.screenshot("phone-" + strings.ReplaceAll(strings.TrimPrefix(p.path, "/"), "/", "-"))
	}
	b.do("a desktop viewport again", chromedp.EmulateViewport(1280, 900))

	// Sign out: back to the login form, and the pages are refused again.
	b.do("signing out", chromedp.Navigate(base+"/machines"), chromedp.WaitVisible(chromedp.CSS(".who button")),
		chromedp.Click(chromedp.CSS(".who button")), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	b.do("after signing out", chromedp.Navigate(base+"/machines/node1"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
}
