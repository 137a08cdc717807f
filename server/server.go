package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/resolve"
)

// Allocator gives a machine its lease in a pool. Allocate returns the
// machine's existing lease, or a new one that is durable when it returns;
// ipam.ErrExhausted when the pool is full, storage.ErrUnavailable when the
// store cannot take writes. Pass a *storage.Timed to have allocations
// timed with the store's other operations.
type Allocator interface {
	Allocate(ctx context.Context, pool *ipam.Pool, mac string) (ipam.Lease, error)
}

// Recorder takes boot events for the machine inventory. Record must not
// block on storage.
type Recorder interface {
	Record(mac, uuid string, e inventory.Event)
}

// handleRecorder is a Recorder that hands out a machine's record
// (*inventory.Recorder): the query cache keeps it beside the match, so
// that a request of a query seen before records without the recorder's
// key and map.
type handleRecorder interface {
	RecordHandle(mac, uuid string, e inventory.Event) *inventory.Handle
	RecordTo(h *inventory.Handle, e inventory.Event)
}

// Config holds a Server's dependencies and limits. Zero values of the
// limits mean the documented defaults.
type Config struct {
	Logger    *slog.Logger
	Allocator Allocator
	Leases    *ipam.Table
	Recorder  Recorder
	// Assets serves /assets/; nil answers 404 for every asset.
	Assets http.Handler
	// Netboot serves /netboot/ (the iPXE binaries of --tftp-root, for UEFI
	// HTTP boot clients); nil answers 404.
	Netboot http.Handler
	// Registry receives the server's metrics; nil creates a private one.
	Registry *prometheus.Registry
	// MaxQueryBytes bounds a boot request's query string (default 4096).
	MaxQueryBytes int
	// CacheStats, when set, is read by the render cache metrics (pass the
	// same one as catalog.Options.Stats).
	CacheStats *catalog.CacheStats
	// Machines, when set, counts machines by inventory state for the
	// provisiond_machines metric (an *inventory.Recorder).
	Machines MachineCounter
	// BootTokens, when set, puts a token into .boot_token of the boot
	// fields and makes the config endpoints require it (see BootTokens).
	BootTokens *BootTokens
	// MaxInflightPerClient bounds the requests one client address has in
	// flight (429 beyond); 0 means no bound (provisiond serve sets
	// DefaultMaxInflightPerClient through --max-inflight-per-client).
	MaxInflightPerClient int
	// States, when set, gives install once the machines' states (an
	// *inventory.Recorder): an installed machine of an install_once group
	// or profile gets inventory.LocalBootIPXE from /ipxe.
	States resolve.StateReader
	// Lifecycle, when set, takes POST /installed and POST /failed (a
	// *lifecycle.Service); nil: those routes are not served (404).
	Lifecycle Reporter
	// Readiness, when set, is asked by /readyz once a snapshot is
	// served: which catalog it is (detail, written after "ok: "), and
	// whether to answer ready (false: 503 with detail).
	Readiness func() (ready bool, detail string)
	// MaxLabels bounds the distinct query parameters of a boot request
	// (400 beyond); 0 or anything above groups.MaxLabels means
	// groups.MaxLabels.
	MaxLabels int
}

// Server serves the boot endpoints from the current catalog snapshot.
type Server struct {
	cfg Config
	log *slog.Logger
	// snap is the snapshot served and its epoch (queryCache).
	snap    atomic.Pointer[served]
	swapMu  sync.Mutex
	epoch   uint64 // the last epoch Swap gave, under swapMu
	queries *queryCache
	ready   atomic.Bool
	metrics *metrics
	router  chi.Router
	// resolver is the one resolution path (package resolve).
	resolver *resolve.Resolver
	// lastURL is the last server URL a request was served at (serverURL).
	lastURL atomic.Pointer[hostURL]
	// handles is cfg.Recorder when it hands out records, else nil.
	handles handleRecorder
	// reqlog is the logger's handler when it writes the request line
	// itself (reqlog.Handler), else nil (requestLog).
	reqlog requestLogger
}

// New returns a server. It answers 503 on the boot endpoints until a
// snapshot is set with Swap.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxQueryBytes <= 0 {
		cfg.MaxQueryBytes = 4096
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.Leases == nil {
		cfg.Leases = ipam.NewTable(nil)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, metrics: newMetrics(cfg.Registry), queries: newQueryCache()}
	s.handles, _ = cfg.Recorder.(handleRecorder)
	s.reqlog, _ = cfg.Logger.Handler().(requestLogger)
	s.resolver = &resolve.Resolver{Allocator: cfg.Allocator, Leases: cfg.Leases, Logger: cfg.Logger, States: cfg.States}
	s.registerCollectors(cfg.Registry)
	s.router = s.routes()
	return s
}

// Swap makes snap the snapshot every following request is served from.
func (s *Server) Swap(snap *catalog.Snapshot) {
	s.swapMu.Lock()
	s.epoch++
	s.snap.Store(&served{snap: snap, epoch: s.epoch})
	s.swapMu.Unlock()
	// The matches of the old snapshot are never used again (their epoch
	// is past); dropping them frees its groups.
	s.queries.clear()
	s.ready.Store(true)
}

// Snapshot returns the snapshot being served, nil before the first Swap.
func (s *Server) Snapshot() *catalog.Snapshot {
	if sv := s.snap.Load(); sv != nil {
		return sv.snap
	}
	return nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.router.ServeHTTP(w, r)
}
