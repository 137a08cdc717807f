package console

import (
	"context"
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Cookie names. The session cookie holds a random session id, never a
// token; the login cookie holds the login form's CSRF token, before there
// is a session to tie it to.
const (
	sessionCookie = "provisiond_console"
	loginCookie   = "provisiond_console_login"
)

type sessionKey struct{}

// sessionFrom returns the request's session (set by authenticate).
func sessionFrom(ctx context.Context) session {
	s, _ := ctx.Value(sessionKey{}).(session)
	return s
}

// authenticate lets a request through with a live session cookie, or a
// client certificate the listener verified (a session is then started for
// it, to hold its form token), or anyone when there is no Authenticator.
// Others are sent to the login page (401 for the event stream and forms).
func (c *Console) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ses session
		ok := false
		if ck, err := r.Cookie(sessionCookie); err == nil {
			ses, ok = c.sessions.get(ck.Value)
		}
		who, transport := "", false
		switch {
		case c.cfg.Auth == nil:
			who, transport = "anonymous", true
		default:
			who, transport = c.cfg.Auth.Authenticate(r)
		}
		if transport && (!ok || ses.who != who) {
			ses, ok = c.sessions.create(who), true
			c.setSessionCookie(w, r, ses.id)
		}
		if !ok {
			if r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, "/events") {
				http.Redirect(w, r, c.cfg.Prefix+"/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.errorPage(w, r, http.StatusUnauthorized, "Sign in first: this needs an admin token or a client certificate.")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, ses)))
	})
}

func (c *Console) setSessionCookie(w http.ResponseWriter, r *http.Request, id string) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: c.cfg.Prefix + "/",
		MaxAge: int(c.cfg.SessionTTL / time.Second), Secure: r.TLS != nil,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
}

func (c *Console) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: c.cfg.Prefix + "/", MaxAge: -1,
		Secure: r.TLS != nil, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// loginData is the login page's data.
type loginData struct {
	Next  string
	Error string
	Info  string
}

// loginForm shows the login form, with a fresh form token in a
// short-lived cookie (double submit: there is no session yet).
func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if _, ok := c.sessions.get(ck.Value); ok {
			http.Redirect(w, r, c.safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
			return
		}
	}
	info := ""
	if r.URL.Query().Get("bye") != "" {
		info = "Signed out."
	}
	c.showLogin(w, r, http.StatusOK, loginData{Next: c.safeNext(r.URL.Query().Get("next")), Info: info})
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, code int, d loginData) {
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{
		Name: loginCookie, Value: tok, Path: c.cfg.Prefix + "/", MaxAge: 600,
		Secure: r.TLS != nil, HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
	c.render(w, r, code, "login", page{Title: "Sign in", CSRF: tok, Data: d})
}

// maxFormBytes bounds a form's body.
const maxFormBytes = 16 << 10

// login checks the posted token and starts a session.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		c.errorPage(w, r, http.StatusBadRequest, "The form could not be read: "+err.Error())
		return
	}
	ck, err := r.Cookie(loginCookie)
	if err != nil || !equalTokens(ck.Value, r.PostForm.Get("csrf")) {
		c.log.Warn("console: login refused: missing or wrong form token", "remote", r.RemoteAddr)
		c.errorPage(w, r, http.StatusForbidden, "The login form expired or was not ours: reload the login page and try again.")
		return
	}
	next := c.safeNext(r.PostForm.Get("next"))
	if c.cfg.Auth == nil {
		ses := c.sessions.create("anonymous")
		c.setSessionCookie(w, r, ses.id)
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	who, ok := c.cfg.Auth.CheckToken(strings.TrimSpace(r.PostForm.Get("token")))
	if !ok {
		c.log.Warn("console: login refused: token not accepted", "remote", r.RemoteAddr)
		c.showLogin(w, r, http.StatusUnauthorized, loginData{Next: next, Error: "That token is not accepted."})
		return
	}
	ses := c.sessions.create(who)
	c.clearCookie(w, r, loginCookie)
	c.setSessionCookie(w, r, ses.id)
	c.log.Info("console: signed in", "who", who, "remote", r.RemoteAddr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session.
func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	ses := sessionFrom(r.Context())
	c.sessions.delete(ses.id)
	c.clearCookie(w, r, sessionCookie)
	c.log.Info("console: signed out", "who", ses.who)
	http.Redirect(w, r, c.cfg.Prefix+"/login?bye=1", http.StatusSeeOther)
}

// safeNext returns where to go after login: a console path, never
// another site.
func (c *Console) safeNext(next string) string {
	if strings.HasPrefix(next, c.cfg.Prefix+"/") && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") && !strings.Contains(next, "..") &&
		!strings.HasPrefix(next, c.cfg.Prefix+"/login") && !strings.HasPrefix(next, c.cfg.Prefix+"/events") {
		return next
	}
	return c.cfg.Prefix + "/machines"
}

func equalTokens(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// sameOrigin refuses unsafe requests (POST and the like) that a browser
// says come from another origin: Sec-Fetch-Site other than same-origin,
// or an Origin that is not this host (net/http's CrossOriginProtection).
func (c *Console) sameOrigin(next http.Handler) http.Handler {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.log.Warn("console: cross-origin request refused", "method", r.Method, "path", r.URL.Path,
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "remote", r.RemoteAddr)
		c.errorPage(w, r, http.StatusForbidden, "Refused: this form was posted from another site.")
	}))
	return p.Handler(next)
}

// checkCSRF refuses a POST whose form token is not its session's.
func (c *Console) checkCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			c.errorPage(w, r, http.StatusBadRequest, "The form could not be read: "+err.Error())
			return
		}
		ses := sessionFrom(r.Context())
		if !equalTokens(ses.csrf, r.PostForm.Get("csrf")) {
			c.log.Warn("console: form refused: wrong form token", "path", r.URL.Path, "who", ses.who, "remote", r.RemoteAddr)
			c.errorPage(w, r, http.StatusForbidden, "Refused: the form's token is missing or not this session's. Reload the page and try again.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackWithoutAuth refuses, when the console has no Authenticator,
// every request whose Host is not a loopback address or "localhost".
// provisiond allows an admin listener without authentication only on a
// loopback address; checking the Host as well keeps another site from
// reaching the console through a DNS name it points at 127.0.0.1 (DNS
// rebinding), which a browser would treat as that site's own.
func (c *Console) loopbackWithoutAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.cfg.Auth == nil && !loopbackHost(r.Host) {
			c.log.Warn("console: request for another host refused (no authentication: loopback only)", "host", r.Host, "remote", r.RemoteAddr)
			c.errorPage(w, r, http.StatusForbidden, "Refused: this console has no authentication, so it answers only at a loopback address (127.0.0.1, [::1] or localhost).")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackHost reports whether a Host header names a loopback address or
// localhost.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
