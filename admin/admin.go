package admin

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/resolve"
)

// TokenIssuer issues boot tokens (a *server.BootTokens): Issue returns
// the token for a normalized mac, "" when tokens are off or mac is "". A
// nil *server.BootTokens is a valid TokenIssuer that issues none.
type TokenIssuer interface {
	Issue(mac string) string
}

// Inventory lists what the boot path recorded of each machine.
type Inventory interface {
	List() []inventory.Machine
}

// Catalogs is the catalog the admin API reads and writes (a
// *storage.Catalogs). Current returns the snapshot being served, nil before
// the first load. Update applies fn to a copy of the current catalog,
// validates the result exactly as a catalog load does, writes it to the
// store with its lease changes and serves it; fn runs under the lock that
// serializes every catalog change, so a check made in fn holds when the
// change lands. On any error, fn's included, nothing changes.
type Catalogs interface {
	Current() *catalog.Snapshot
	Update(ctx context.Context, fn func(*catalog.Catalog) error) (*catalog.Snapshot, []string, error)
}

// Releaser releases a lease (a *storage.Catalogs): it deletes the lease
// of addr in pool from the store and the lease table, or returns
// storage.ErrNotFound, or storage.ErrConflict for a pinned lease.
type Releaser interface {
	Release(ctx context.Context, pool string, addr netip.Addr) (ipam.Lease, error)
}

// Config holds the admin API's dependencies. Zero values mean the
// documented defaults.
type Config struct {
	Logger    *slog.Logger
	Catalogs  Catalogs
	Releaser  Releaser
	Inventory Inventory
	Leases    *ipam.Table
	// Auth authenticates every request; nil serves everyone (provisiond
	// allows that on loopback addresses only).
	Auth *Auth
	// Registry receives the admin request metrics; nil creates a private
	// one.
	Registry prometheus.Registerer
	// MaxBodyBytes bounds a write's body (default 8 MiB; a whole catalog
	// at /api/v1/catalog may be 8 times as large). Beyond it: 413.
	MaxBodyBytes int64
	// CatalogDir is the --catalog directory, when the catalog is loaded
	// from one: writes then carry a Warning that the next reload
	// overwrites them, unless WritesBack.
	CatalogDir string
	// WritesBack says that Catalogs writes every change back into
	// CatalogDir (provisiond serve does), so a reload keeps it: no Warning.
	WritesBack bool
	// BootURL is the boot listener's URL (http://host:port), used as
	// .server.url by /api/v1/render unless the request sends
	// X-Provisiond-Server-URL.
	BootURL string
	// BootTokens, when set, gives the rendered /ipxe and /grub a real
	// .boot_token, as the boot listener would. The config renders need no
	// token: the admin API authenticates its callers.
	BootTokens TokenIssuer
	// Now returns the time (default time.Now).
	Now func() time.Time
	// Lifecycle, when set, carries out POST /api/v1/machines/{name}/state,
	// /reprovision and /power (a *lifecycle.Service); nil answers them 503.
	Lifecycle Lifecycle
	// States, when set (an *inventory.Recorder), lets render show install
	// once: an installed machine of an install_once group or profile
	// renders the local-boot script for ipxe and grub, as the boot
	// listener answers it.
	States resolve.StateReader
	// Backup answers GET and HEAD /api/v1/backup with a consistent copy
	// of the store (a *bolt.Store's BackupHandler); nil (the etcd store)
	// answers 501 naming etcdctl snapshot save.
	Backup http.Handler
}

// API is the admin API handler (/api/v1/...).
type API struct {
	cfg     Config
	log     *slog.Logger
	router  chi.Router
	metrics *adminMetrics
	// resolver previews: it has no Allocator.
	resolver *resolve.Resolver
}

// New returns the admin API handler.
func New(cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 8 << 20
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.Leases == nil {
		cfg.Leases = ipam.NewTable(nil)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &API{cfg: cfg, log: cfg.Logger, metrics: newAdminMetrics(cfg.Registry),
		resolver: &resolve.Resolver{Leases: cfg.Leases, States: cfg.States}}
	a.router = a.routes()
	return a
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.router.ServeHTTP(w, r) }

// Routes returns the admin router, for tests and documentation checks
// that walk every route.
func (a *API) Routes() chi.Routes { return a.router }

// routes registers every admin route in one place.
//
// Middleware runs outermost first: adminLog (one line per request with
// the caller's identity, and the admin metrics), adminRecover (a panic is
// a JSON 500), authenticate (401 without valid credentials), then
// limitBody (413 beyond MaxBodyBytes).
func (a *API) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(a.adminLog, a.adminRecover, a.authenticate)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeAPIError(w, r, &apiError{Code: http.StatusNotFound, Msg: "no such route: " + r.URL.Path})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeAPIError(w, r, &apiError{Code: http.StatusMethodNotAllowed, Msg: r.Method + " is not allowed on " + r.URL.Path})
	})
	r.Route("/api/v1", func(r chi.Router) {
		r.Use(a.limitBody)
		for _, k := range objectKinds {
			r.Get("/"+k.plural, a.listObjects(k))
			r.Get("/"+k.plural+"/{"+k.idField+"}", a.getObject(k))
			r.Put("/"+k.plural+"/{"+k.idField+"}", a.putObject(k))
			r.Delete("/"+k.plural+"/{"+k.idField+"}", a.deleteObject(k))
		}
		r.Get("/machines", a.listMachines)
		r.Get("/machines/{name}", a.getMachine)
		r.Put("/machines/{name}", a.putObject(machineKind))
		r.Delete("/machines/{name}", a.deleteObject(machineKind))
		r.Post("/machines/{name}/state", a.setState)
		r.Post("/machines/{name}/reprovision", a.reprovision)
		r.Post("/machines/{name}/power", a.power)

		r.Get("/templates", a.listTemplates)
		r.Get("/templates/{kind}", a.listTemplates)
		r.Get("/templates/{kind}/{name}", a.getTemplate)
		r.Put("/templates/{kind}/{name}", a.putTemplate)
		r.Delete("/templates/{kind}/{name}", a.deleteTemplate)

		r.Get("/catalog", a.getCatalog)
		r.Put("/catalog", a.writeCatalog(true))
		r.Post("/catalog", a.writeCatalog(false))

		r.Get("/leases", a.listLeases)
		r.Delete("/leases/{pool}/{address}", a.releaseLease)

		r.Get("/backup", a.backup)
		r.Head("/backup", a.backup)

		r.Get("/select", a.selectMachine)
		r.Get("/render/{endpoint}", a.render)
	})
	return r
}

// writeJSON answers v as indented JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
