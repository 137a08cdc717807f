package console

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// login signs c in with token through the login form, and returns the
// response to the form's POST.
func login(t *testing.T, r *rig, c *http.Client, token string) *http.Response {
	t.Helper()
	resp, err := c.Get(r.Admin.URL + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	page := body(t, resp)
	resp, err = c.PostForm(r.Admin.URL+"/console/login", url.Values{"csrf": {hidden(t, page, "csrf")}, "token": {token}, "next": {"/console/pools"}})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// loggedIn returns a client with a session.
func loggedIn(t *testing.T, r *rig) *http.Client {
	t.Helper()
	c := client(t)
	resp := login(t, r, c, testToken)
	body(t, resp)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/pools" {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return c
}

func TestRefusedWithoutSession(t *testing.T) {
	r := newRig(t, Config{})
	c := client(t)
	for _, path := range []string{"/console/", "/console/machines", "/console/machines/node1", "/console/pools", "/console/leases", "/console/groups", "/console/profiles", "/console/activity"} {
		resp, err := c.Get(r.Admin.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		page := body(t, resp)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/console/login?next="+url.QueryEscape(path) {
			t.Errorf("GET %s without a session: %d to %q, want 303 to the login page", path, resp.StatusCode, loc)
		}
		if strings.Contains(page, node1MAC) {
			t.Errorf("GET %s without a session shows machines", path)
		}
	}
	resp, err := c.Get(r.Admin.URL + "/console/events")
	if err != nil {
		t.Fatal(err)
	}
	body(t, resp)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("event stream without a session: %d, want 401", resp.StatusCode)
	}
	resp, err = c.PostForm(r.Admin.URL+"/console/machines/node1/action", url.Values{"action": {"reprovision"}})
	if err != nil {
		t.Fatal(err)
	}
	body(t, resp)
	if resp.StatusCode != http.StatusUnauthorized || len(r.Life.Done()) != 0 {
		t.Errorf("action without a session: %d, done %v", resp.StatusCode, r.Life.Done())
	}
	// A made-up session id is no session.
	req, _ := http.NewRequest(http.MethodGet, r.Admin.URL+"/console/machines", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: randomToken()})
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body(t, resp)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a forged session cookie: %d", resp.StatusCode)
	}
}

func TestLoginWrongToken(t *testing.T) {
	r := newRig(t, Config{})
	c := client(t)
	for _, tok := range []string{"", "wrong-token-wrong-token", testToken + "x"} {
		resp := login(t, r, c, tok)
		page := body(t, resp)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "That token is not accepted.") {
			t.Errorf("token %q: %d\n%s", tok, resp.StatusCode, page)
		}
		for _, ck := range resp.Cookies() {
			if ck.Name == sessionCookie {
				t.Errorf("token %q: a session cookie was set", tok)
			}
		}
	}
	if n := r.Console.sessions.len(); n != 0 {
		t.Errorf("%d sessions after failed logins", n)
	}
}

func TestLoginCookie(t *testing.T) {
	r := newRig(t, Config{})
	for _, tlsOn := range []bool{false, true} {
		// The login form, then its POST, straight to the handler so the
		// request can say it came over TLS.
		get := httptest.NewRequest(http.MethodGet, "/console/login", nil)
		if tlsOn {
			get.TLS = &tls.ConnectionState{}
		}
		w := httptest.NewRecorder()
		r.Console.ServeHTTP(w, get)
		var loginCk *http.Cookie
		for _, ck := range w.Result().Cookies() {
			if ck.Name == loginCookie {
				loginCk = ck
			}
		}
		if loginCk == nil {
			t.Fatal("the login form set no form-token cookie")
		}
		form := url.Values{"csrf": {hidden(t, w.Body.String(), "csrf")}, "token": {testToken}}
		post := httptest.NewRequest(http.MethodPost, "/console/login", strings.NewReader(form.Encode()))
		post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		post.AddCookie(loginCk)
		if tlsOn {
			post.TLS = &tls.ConnectionState{}
		}
		w = httptest.NewRecorder()
		r.Console.ServeHTTP(w, post)
		if w.Code != http.StatusSeeOther {
			t.Fatalf("tls %v: login %d %s", tlsOn, w.Code, w.Body)
		}
		var ses *http.Cookie
		for _, ck := range w.Result().Cookies() {
			if ck.Name == sessionCookie {
				ses = ck
			}
		}
		if ses == nil {
			t.Fatalf("tls %v: no session cookie", tlsOn)
		}
		if !ses.HttpOnly || ses.SameSite != http.SameSiteStrictMode || ses.Secure != tlsOn || ses.Path != "/console/" {
			t.Errorf("tls %v: cookie %+v: want HttpOnly, SameSite=Strict, Secure=%v, Path=/console/", tlsOn, ses, tlsOn)
		}
		if ses.MaxAge != int((8 * time.Hour).Seconds()) {
			t.Errorf("cookie lifetime %d s", ses.MaxAge)
		}
		if strings.Contains(ses.Value, testToken) || len(ses.Value) < 40 {
			t.Errorf("the cookie %q is not a random session id", ses.Value)
		}
	}
}

func TestLoginFormNeedsItsToken(t *testing.T) {
	r := newRig(t, Config{})
	c := client(t)
	// No form-token cookie: a login posted from a page the console did
	// not serve.
	resp, err := c.PostForm(r.Admin.URL+"/console/login", url.Values{"csrf": {"x"}, "token": {testToken}})
	if err != nil {
		t.Fatal(err)
	}
	body(t, resp)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("login without the form token: %d, want 403", resp.StatusCode)
	}
	// From another origin, with the right token and cookie.
	resp, err = c.Get(r.Admin.URL + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	page := body(t, resp)
	req, _ := http.NewRequest(http.MethodPost, r.Admin.URL+"/console/login",
		strings.NewReader(url.Values{"csrf": {hidden(t, page, "csrf")}, "token": {testToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://evil.example")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body(t, resp)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("login from another origin: %d, want 403", resp.StatusCode)
	}
	if n := r.Console.sessions.len(); n != 0 {
		t.Errorf("%d sessions", n)
	}
}

func TestForgedPostsRefused(t *testing.T) {
	r := newRig(t, Config{})
	r.bootFleet(t)
	c := loggedIn(t, r)
	resp, err := c.Get(r.Admin.URL + "/console/machines/node1")
	if err != nil {
		t.Fatal(err)
	}
	page := body(t, resp)
	csrf := hidden(t, page, "csrf")
	action := r.Admin.URL + "/console/machines/node1/action"

	post := func(form url.Values, headers map[string]string) int {
		req, _ := http.NewRequest(http.MethodPost, action, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body(t, resp)
		return resp.StatusCode
	}
	for _, tc := range []struct {
		name    string
		form    url.Values
		headers map[string]string
	}{
		{"no form token", url.Values{"action": {"reprovision"}}, nil},
		{"another session's token", url.Values{"action": {"reprovision"}, "csrf": {randomToken()}}, nil},
		{"from another site", url.Values{"action": {"reprovision"}, "csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}},
		{"from a sibling origin", url.Values{"action": {"reprovision"}, "csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "same-site"}},
		{"origin of another port", url.Values{"action": {"reprovision"}, "csrf": {csrf}}, map[string]string{"Origin": "http://127.0.0.1:1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := post(tc.form, tc.headers); got != http.StatusForbidden {
				t.Errorf("%d, want 403", got)
			}
		})
	}
	if done := r.Life.Done(); len(done) != 0 {
		t.Fatalf("a forged post acted: %v", done)
	}
	// The genuine form works, and says so on the next page.
	if got := post(url.Values{"action": {"reprovision"}, "csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": r.Admin.URL}); got != http.StatusSeeOther {
		t.Fatalf("the genuine form: %d", got)
	}
	if done := r.Life.Done(); len(done) != 1 || !strings.HasPrefix(done[0], node1MAC+" reprovision by token:") {
		t.Errorf("done %v", done)
	}
	resp, err = c.Get(r.Admin.URL + "/console/machines/node1")
	if err != nil {
		t.Fatal(err)
	}
	if page := body(t, resp); !strings.Contains(page, "will network-boot on its next power cycle") {
		t.Errorf("the action's outcome is not shown:\n%s", page)
	}
}

func TestLogout(t *testing.T) {
	r := newRig(t, Config{})
	c := loggedIn(t, r)
	resp, err := c.Get(r.Admin.URL + "/console/machines")
	if err != nil {
		t.Fatal(err)
	}
	page := body(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="who"`) {
		t.Fatalf("signed in: %d", resp.StatusCode)
	}
	resp, err = c.PostForm(r.Admin.URL+"/console/logout", url.Values{"csrf": {hidden(t, page, "csrf")}})
	if err != nil {
		t.Fatal(err)
	}
	body(t, resp)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	resp, err = c.Get(r.Admin.URL + "/console/machines")
	if err != nil {
		t.Fatal(err)
	}
	body(t, resp)
	if resp.StatusCode != http.StatusSeeOther || r.Console.sessions.len() != 0 {
		t.Errorf("after logout: %d, %d sessions", resp.StatusCode, r.Console.sessions.len())
	}
}

func TestSessionLifetime(t *testing.T) {
	now := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	var clock = func() time.Time { return now }
	r := newRig(t, Config{Now: func() time.Time { return clock() }, SessionTTL: 2 * time.Hour, SessionIdle: 30 * time.Minute, MaxSessions: 2})
	get := func(c *http.Client) int {
		resp, err := c.Get(r.Admin.URL + "/console/machines")
		if err != nil {
			t.Fatal(err)
		}
		body(t, resp)
		return resp.StatusCode
	}
	c := loggedIn(t, r)
	for range 5 { // used every 25 minutes: alive until the 2 hours are up
		now = now.Add(25 * time.Minute)
		if code := get(c); code != http.StatusOK && now.Sub(time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)) < 2*time.Hour {
			t.Fatalf("at %v: %d", now, code)
		}
	}
	if code := get(c); code != http.StatusSeeOther {
		t.Errorf("after its lifetime: %d, want 303 to the login page", code)
	}
	c = loggedIn(t, r)
	now = now.Add(31 * time.Minute)
	if code := get(c); code != http.StatusSeeOther {
		t.Errorf("after 31 idle minutes: %d", code)
	}
	// At most MaxSessions are held.
	for range 4 {
		loggedIn(t, r)
	}
	if n := r.Console.sessions.len(); n != 2 {
		t.Errorf("%d sessions held, want 2", n)
	}
}

func TestSafeNext(t *testing.T) {
	c := &Console{cfg: Config{Prefix: "/console"}}
	for in, want := range map[string]string{
		"/console/machines?state=booting": "/console/machines?state=booting",
		"/console/machines/node1":         "/console/machines/node1",
		"https://evil.example/":           "/console/machines",
		"//evil.example/console/":         "/console/machines",
		"/console/../api/v1/catalog":      "/console/machines",
		"/console/login":                  "/console/machines",
		"/console/events":                 "/console/machines",
		"/console/x\r\nSet-Cookie: a=b":   "/console/machines",
		"":                                "/console/machines",
	} {
		if got := c.safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestClientCertificate: a request whose client certificate the listener
// verified is signed in without the form, and gets a session for its
// form tokens.
func TestClientCertificate(t *testing.T) {
	r := newRig(t, Config{})
	req := httptest.NewRequest(http.MethodGet, "/console/machines", nil)
	req.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{{Subject: pkix.Name{CommonName: "alice"}}}}}
	w := httptest.NewRecorder()
	r.Console.ServeHTTP(w, req)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `<span id="who" title="Signed in as">cert:alice</span>`) {
		t.Fatalf("with a client certificate: %d\n%s", w.Code, w.Body)
	}
	var ses *http.Cookie
	for _, ck := range w.Result().Cookies() {
		if ck.Name == sessionCookie {
			ses = ck
		}
	}
	if ses == nil || !ses.Secure || !ses.HttpOnly {
		t.Fatalf("session cookie %+v", ses)
	}
	// Its form works with the session's token, and only with it.
	form := url.Values{"csrf": {hidden(t, w.Body.String(), "csrf")}, "action": {"reprovision"}}
	for _, tc := range []struct {
		csrf string
		want int
	}{{"forged", http.StatusForbidden}, {form.Get("csrf"), http.StatusSeeOther}} {
		form.Set("csrf", tc.csrf)
		post := httptest.NewRequest(http.MethodPost, "/console/machines/node1/action", strings.NewReader(form.Encode()))
		post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		post.TLS = req.TLS
		post.AddCookie(ses)
		w = httptest.NewRecorder()
		r.Console.ServeHTTP(w, post)
		if w.Code != tc.want {
			t.Errorf("csrf %q: %d, want %d", tc.csrf, w.Code, tc.want)
		}
	}
	if done := r.Life.Done(); len(done) != 1 || !strings.HasSuffix(done[0], "by cert:alice") {
		t.Errorf("done %v", done)
	}
}
