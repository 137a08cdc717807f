package console

import (
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config holds the console's dependencies. Zero values of the tunables
// mean the documented defaults.
type Config struct {
	Logger *slog.Logger
	// Auth checks logins; nil lets everyone in as "anonymous" (provisiond
	// allows an admin listener without authentication on loopback only).
	Auth      Authenticator
	Catalogs  Catalogs
	Inventory Inventory
	Leases    Leases
	// Hub carries the live boot events; nil shows no live activity.
	Hub *Hub
	// Previewer, when set, shows on a machine's page the exact /ipxe
	// and config it would get.
	Previewer Previewer
	// Lifecycle, when set, offers its actions on a machine's page.
	Lifecycle Lifecycle

	// Prefix is the path the console is mounted at (default "/console").
	Prefix string
	// SessionTTL bounds a session's life from login (default 8h), and
	// SessionIdle its time unused (default 1h).
	SessionTTL  time.Duration
	SessionIdle time.Duration
	// MaxSessions bounds the sessions held; beyond it the least recently
	// used one ends (default 1000).
	MaxSessions int
	// LiveInterval is how often a live view is sent what happened
	// (default 250ms), and LiveBatch the most events it is sent at a time
	// (default 50); the rest are counted as skipped.
	LiveInterval time.Duration
	LiveBatch    int
	// MaxRows bounds the rows of the machine and lease tables (default
	// 500); a filter narrows what is shown.
	MaxRows int
	// Now returns the time (default time.Now).
	Now func() time.Time
}

// Console is the console's http.Handler.
type Console struct {
	cfg      Config
	log      *slog.Logger
	pages    map[string]pageTemplate
	sessions *sessions
	router   chi.Router
	// closed ends the live views (Close).
	closed    chan struct{}
	closeOnce sync.Once
}

// New returns the console handler. Mount it at cfg.Prefix + "/" on the
// admin listener.
func New(cfg Config) (*Console, error) {
	if cfg.Catalogs == nil || cfg.Inventory == nil || cfg.Leases == nil {
		return nil, errors.New("console: Catalogs, Inventory and Leases are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "/console"
	}
	cfg.Prefix = "/" + strings.Trim(cfg.Prefix, "/")
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = time.Hour
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 1000
	}
	if cfg.LiveInterval <= 0 {
		cfg.LiveInterval = 250 * time.Millisecond
	}
	if cfg.LiveBatch <= 0 {
		cfg.LiveBatch = 50
	}
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = 500
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &Console{
		cfg:      cfg,
		log:      cfg.Logger,
		pages:    pages,
		sessions: newSessions(cfg.SessionTTL, cfg.SessionIdle, cfg.MaxSessions, cfg.Now),
		closed:   make(chan struct{}),
	}
	c.router = c.routes()
	return c, nil
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.router.ServeHTTP(w, r) }

// Close ends every live view (the event streams), so that the admin
// listener's graceful Shutdown, which waits for requests in flight, is not
// held up by browsers watching: register it with the listener's
// http.Server.RegisterOnShutdown. Pages are still served after Close.
func (c *Console) Close() {
	c.closeOnce.Do(func() { close(c.closed) })
}

// EndSessions ends every session whose identity accepted no longer
// accepts, and their live views; call it when the admin credentials
// change (provisiond calls it on SIGHUP, after re-reading
// --admin-token-file, with admin.Auth.Accepts), so that removing a token
// signs out the browsers that signed in with it. It returns how many
// sessions it ended.
func (c *Console) EndSessions(accepted func(identity string) bool) int {
	n := c.sessions.endWhere(func(who string) bool { return !accepted(who) })
	if n > 0 {
		c.log.Info("console: sessions ended: their credentials are no longer accepted", "sessions", n)
	}
	return n
}

// Prefix returns the path the console is mounted at.
func (c *Console) Prefix() string { return c.cfg.Prefix }

// routes registers every console route in one place.
//
// Middleware runs outermost first: securityHeaders (CSP, no framing, no
// caching), loopbackWithoutAuth (without an Authenticator, 403 for a
// request not addressed to a loopback host), sameOrigin (403 for an unsafe request from another origin,
// by Sec-Fetch-Site or Origin), then, on every route but the login page
// and the static files, authenticate (a session cookie or a client
// certificate; else a redirect to the login page, or 401 for the event
// stream and forms), then checkCSRF on POSTs (403 without the session's
// form token).
func (c *Console) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(c.recoverer, securityHeaders, c.loopbackWithoutAuth, c.sameOrigin)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		c.errorPage(w, r, http.StatusNotFound, "No such page: "+r.URL.Path)
	})
	r.Route(c.cfg.Prefix, func(r chi.Router) {
		static, _ := fs.Sub(staticFS, "static")
		r.Handle("/static/*", http.StripPrefix(c.cfg.Prefix+"/static/", staticHandler(static)))
		r.Get("/login", c.loginForm)
		r.Post("/login", c.login)

		r.Group(func(r chi.Router) {
			r.Use(c.authenticate, c.checkCSRF)
			r.Get("/", c.home)
			r.Post("/logout", c.logout)
			r.Get("/machines", c.machines)
			r.Get("/machines/{id}", c.machine)
			r.Post("/machines/{id}/action", c.action)
			r.Get("/pools", c.pools)
			r.Get("/leases", c.leases)
			r.Get("/groups", c.groups)
			r.Get("/profiles", c.profiles)
			r.Get("/activity", c.activity)
			r.Get("/events", c.events)
		})
	})
	return r
}

func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, c.cfg.Prefix+"/machines", http.StatusSeeOther)
}

// staticHandler serves the embedded CSS and JavaScript, without directory
// listings.
func staticHandler(files fs.FS) http.Handler {
	fsrv := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		fsrv.ServeHTTP(w, r)
	})
}

// securityHeaders keeps the pages from being framed, sniffed, cached or
// made to run anything but the console's own script.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a panic into a 500 and a log line.
func (c *Console) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				c.log.Error("console: panic", "path", r.URL.Path, "panic", v)
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}
