package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/profiles"
)

// routes registers every route of the boot listener in one place.
//
// Middleware runs outermost first: recoverer (a panic becomes a 500 and a
// log line, never a dropped connection), requestLog (one line per request,
// with mac, group, profile, status and duration, and the metrics),
// limitInflight (429 beyond MaxInflightPerClient requests of one client
// address), limitQuery (414 for oversized query strings), then
// limitLabels (400 beyond MaxLabels query parameters). The config
// endpoints add requireToken (403 without a valid boot token) when boot
// tokens are on.
func (s *Server) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(s.recoverer, s.requestLog, s.limitInflight, s.limitQuery, s.limitLabels)

	// Every GET route answers HEAD too (matchbox does; probes and
	// download tools use it): the same handler, net/http sends no body.
	get := func(r chi.Router, path string, h http.HandlerFunc) {
		r.Get(path, h)
		r.Head(path, h)
	}
	// matchbox answers / with 200; its Kubernetes manifest probes it.
	get(r, "/", s.home)
	get(r, "/boot.ipxe", s.chain)
	get(r, "/boot.ipxe.0", s.chain)
	get(r, "/ipxe", s.bootScript(catalog.LayoutIPXE))
	get(r, "/grub", s.bootScript(catalog.LayoutGRUB))
	// With boot tokens, the configs need the token /ipxe handed out.
	tokened := r.With(s.requireToken)
	get(tokened, "/ignition", s.config(profiles.KindIgnition, "application/json"))
	get(tokened, "/cloud", s.config(profiles.KindCloud, "text/plain; charset=utf-8"))
	get(tokened, "/generic", s.config(profiles.KindGeneric, "text/plain; charset=utf-8"))
	get(tokened, "/metadata", s.metadata)
	// A machine's report that its install finished or failed
	// (docs/lifecycle.md); token-guarded as the configs are.
	if s.cfg.Lifecycle != nil {
		r.With(s.requireToken).Post(inventory.EndpointInstalled, s.report(inventory.Installed))
		r.With(s.requireToken).Post(inventory.EndpointFailed, s.report(inventory.Failed))
	}

	assets := s.cfg.Assets
	if assets == nil {
		assets = http.NotFoundHandler()
	}
	r.Handle("/assets/*", http.StripPrefix("/assets", assets))
	r.Handle("/assets", http.NotFoundHandler())
	if s.cfg.Netboot != nil {
		r.Handle("/netboot/*", http.StripPrefix("/netboot", s.cfg.Netboot))
	}

	get(r, "/healthz", s.healthz)
	get(r, "/readyz", s.readyz)
	r.Handle("/metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}))
	return r
}

// home answers / as matchbox does: 200 and a short text, whether or not
// a catalog is loaded (/readyz says that).
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("provisiond\n"))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !s.ready.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("catalog not loaded\n"))
		return
	}
	if s.cfg.Readiness != nil {
		ready, detail := s.cfg.Readiness()
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(detail + "\n"))
			return
		}
		w.Write([]byte("ok: " + detail + "\n"))
		return
	}
	w.Write([]byte("ok\n"))
}
