package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/provisiond/provisiond/assets"
	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/rpc"
	"github.com/provisiond/provisiond/server"
	"github.com/provisiond/provisiond/storage"
)

// daemon is a running `provisiond serve`: the store, the inventory
// recorder, the catalog, the boot and admin listeners and the network
// boot services. Start builds them leaf first, Reload is SIGHUP, Stop
// takes them down in the reverse order. A daemon is started once.
type daemon struct {
	cfg serveConfig // checked by checkConfig
	log *slog.Logger

	loader *catalogLoader
	tokens *server.BootTokens
	// reloadAuth re-reads the admin API's token file (SIGHUP); nil
	// without an admin listener.
	reloadAuth func()
	bootCert   *certReloader
	adminCert  *certReloader
	rpcServer  *rpc.Server // nil without --rpc-addr (daemon_rpc.go)

	servers []*http.Server
	urls    map[string]string // listener name -> base URL
	wg      sync.WaitGroup
	failed  chan error
	// closers release what Start acquired; Stop runs them last first.
	closers []func()
}

func newDaemon(cfg serveConfig, log *slog.Logger) *daemon {
	return &daemon{cfg: cfg, log: log, failed: make(chan error, 3), urls: map[string]string{}}
}

func (d *daemon) onStop(f func()) { d.closers = append(d.closers, f) }

// Start opens the store, loads the catalog and starts every listener.
// When it fails, what it had started is stopped again.
func (d *daemon) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			d.Stop()
		}
	}()
	cfg, log := d.cfg, d.log
	store, err := openStore(ctx, cfg.Store, cfg.DataDir, log)
	if err != nil {
		return err
	}
	d.onStop(func() { store.Close() })

	leases, err := store.Leases(ctx)
	if err != nil {
		return fmt.Errorf("reading leases: %w", err)
	}
	table := ipam.NewTable(leases)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Every store operation, the boot path's allocations included, is
	// timed where the store is (storage/metrics.go).
	timed := &storage.Timed{Store: store, Observe: storage.NewMetrics(reg).Observe, Name: storeName(store)}
	cacheStats := &catalog.CacheStats{}
	// A --catalog load that would release registered machines' leases or
	// drop every group is refused unless the operator consents
	// (storage.GuardReleases, checked in every catalog write).
	catalogs := &storage.Catalogs{Store: timed, Leases: table, Options: catalog.Options{Stats: cacheStats,
		MaxOutput: cfg.Security.MaxOutputBytes, RenderTimeout: cfg.Security.RenderTimeout}}
	// What the APIs write through: with --catalog, into the directory too.
	editor := newCatalogEditor(cfg.Catalog, catalogs, log)

	// The stored inventory, one machine at a time into the recorder
	// (never every decoded machine at once: docs/performance.md, "Start-up,
	// ninth pass").
	rec, err := inventory.NewRecorderFrom(timed, func(yield func(inventory.Machine) error) error {
		return store.WalkMachines(ctx, yield)
	}, log)
	if err != nil {
		return fmt.Errorf("reading the inventory: %w", err)
	}
	recCtx, stopRec := context.WithCancel(context.Background())
	recDone := make(chan struct{})
	go func() { rec.Run(recCtx); close(recDone) }()
	d.onStop(func() { stopRec(); <-recDone })
	hub, live := d.consoleHub(reg, rec) // the console's live boot events (daemon_console.go)
	life := d.startLifecycle(rec, hub)  // docs/lifecycle.md

	var assetsHandler http.Handler
	if cfg.AssetsDir != "" {
		a, err := assets.New(cfg.AssetsDir, log)
		if err != nil {
			return fmt.Errorf("--assets-dir: %w", err)
		}
		d.onStop(func() { a.Close() })
		assetsHandler = a
		log.Info("serving assets", "dir", cfg.AssetsDir)
	}
	var netbootHandler http.Handler
	if files, err := netbootFiles(cfg.Netboot, log); err != nil {
		return err
	} else if files != nil {
		d.onStop(func() { files.Close() })
		netbootHandler = files
	}

	if d.tokens, err = bootTokens(cfg.Security, log); err != nil {
		return err
	}
	bootTC, bootCert, err := bootTLS(cfg.Security)
	if err != nil {
		return err
	}
	d.bootCert = bootCert
	srv := server.New(server.Config{
		Logger:        log,
		Allocator:     timed,
		Leases:        table,
		Recorder:      live,
		Assets:        assetsHandler,
		Netboot:       netbootHandler,
		Registry:      reg,
		MaxQueryBytes: cfg.MaxQueryBytes,
		CacheStats:    cacheStats,
		Machines:      rec,
		States:        rec,
		Lifecycle:     life,

		BootTokens:           d.tokens,
		MaxInflightPerClient: cfg.Security.MaxInflightPerClient,
		MaxLabels:            cfg.Security.MaxLabels,
		// /readyz says which catalog is served: the stored one while
		// --catalog loads, or in its place when it was refused.
		Readiness: func() (bool, string) { return d.loader.readiness() },
	})
	catalogs.Swap = srv.Swap
	d.loader = &catalogLoader{dir: cfg.Catalog, catalogs: catalogs, log: log, allowRelease: cfg.AllowRelease, assetsDir: cfg.AssetsDir,
		fail: func(err error) {
			select {
			case d.failed <- err:
			default: // already failing
			}
		}}
	// With a catalog directory, API changes are written into it
	// (writeBack), and so are other replicas' (followed, below).
	var followed func()
	if wb, ok := editor.(*writeBack); ok {
		d.loader.dirw = wb
		followed = wb.followed
		// A shared store's history lets a replica that was stopped
		// merge the changes others took meanwhile into its directory
		// (mergeAtStart).
		wb.history, _ = store.(catalogHistory)
	}
	if _, err := d.loader.initial(ctx); err != nil {
		return err
	}
	// With a stored catalog, --catalog loads in the background
	// (catalog_loader.go); Stop waits for it before closing the store.
	d.onStop(d.loader.wait)
	// With a shared store (etcd), follow the other replicas' writes.
	followCtx, stopFollow := context.WithCancel(context.Background())
	waitFollow := followStore(followCtx, store, catalogs, log, followed)
	d.onStop(func() { stopFollow(); waitFollow() })
	// proxyDHCP / full DHCP and TFTP (docs/netboot.md); after the catalog
	// load, since full DHCP mode checks its pool.
	if cfg.Netboot.DHCPMode == "full" {
		pool := cfg.Netboot.DHCPRange
		if err := d.loader.awaitDHCPPool(pool, func() bool {
			snap := srv.Snapshot()
			return snap != nil && snap.Catalog.Pools[pool] != nil
		}); err != nil {
			return err
		}
	}
	nb, err := startNetboot(cfg.Netboot, log, reg, live, store, table, srv)
	if err != nil {
		return err
	}
	d.onStop(nb.Close)

	bootURL, err := d.listen("boot", cfg.Addr, srv, bootTC)
	if err != nil {
		return err
	}
	// The load's garbage (file bytes, decoded copies, trial renders: a
	// few times the compiled catalog) goes back to the OS now; otherwise
	// resident memory stays near the load's peak until the runtime's
	// scavenger gets to it (see docs/performance.md, "Steady state, third
	// pass"). It is a full collection, about 0.15 s of CPU at 100,000
	// machines: done while serving, not before, so machines are answered
	// that much sooner.
	go func() {
		returnLoadMemory()
		log.Debug("start-up load's memory returned to the OS")
	}()
	if err := d.startRPC(editor, table, reg); err != nil {
		return err
	}
	if cfg.AdminAddr == "" {
		return nil
	}
	adminAPI, tc, err := newAdmin(cfg, log, editor, catalogs, rec, table, bootURL, reg, d.tokens, life, backupHandler(store))
	if err != nil {
		return err
	}
	auth := adminAPI.Auth()
	d.reloadAuth = func() { reloadTokens(cfg.Admin, auth, log) }
	if tc != nil {
		if d.adminCert, err = newCertReloader(cfg.Admin.TLSCert, cfg.Admin.TLSKey, "--admin-tls-cert/--admin-tls-key"); err != nil {
			return err
		}
		tc = d.adminCert.use(tc)
	}
	if err := d.listenAdmin(adminAPI, tc, consoleDeps{hub: hub, catalogs: catalogs, rec: rec, table: table, bootURL: bootURL, tokens: d.tokens, life: life}); err != nil {
		return err
	}
	if auth == nil {
		// Named by the address it listens on: --admin-addr's port may be 0.
		warnNoAdminAuth(log, strings.TrimPrefix(strings.TrimPrefix(d.urls["admin"], "http://"), "https://"))
	}
	return nil
}

// listen starts serving h on addr and returns the listener's base URL.
func (d *daemon) listen(name, addr string, h http.Handler, tc *tls.Config) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("--%s: %w", map[string]string{"boot": "addr", "admin": "admin-addr"}[name], err)
	}
	base := "http://" + ln.Addr().String()
	if tc != nil {
		base = "https://" + ln.Addr().String()
		ln = tls.NewListener(ln, tc)
	}
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: d.cfg.ReadHeaderTimeout,
		IdleTimeout:       d.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelDebug),
	}
	d.servers = append(d.servers, hs)
	d.urls[name] = base
	d.log.Info("listening", "listener", name, "addr", ln.Addr().String())
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.failed <- fmt.Errorf("%s listener: %w", name, err)
		}
	}()
	return base, nil
}

// URL returns the base URL of the listener "boot" or "admin", "" when it
// is not listening.
func (d *daemon) URL(listener string) string { return d.urls[listener] }

// Failed yields the error of a listener that stopped serving.
func (d *daemon) Failed() <-chan error { return d.failed }

// Reload is SIGHUP: it re-reads the admin tokens, the boot secrets, both
// listeners' certificates and --catalog; each keeps its previous value
// when the new one does not load.
func (d *daemon) Reload(ctx context.Context) {
	if d.reloadAuth != nil {
		d.reloadAuth()
	}
	reloadBootSecrets(d.cfg.Security, d.tokens, d.log)
	d.bootCert.reload(d.log)
	d.adminCert.reload(d.log)
	d.reloadRPC()
	if d.cfg.Catalog == "" {
		d.log.Warn("SIGHUP: no --catalog to reload")
		return
	}
	d.loader.reload(ctx)
}

// Stop lets in-flight requests finish (for --shutdown-timeout at most),
// then flushes the inventory and closes the store and everything else
// Start opened.
func (d *daemon) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
	defer cancel()
	for _, hs := range d.servers {
		hs.Shutdown(ctx)
	}
	d.wg.Wait()
	d.servers = nil
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
	d.closers = nil
}
