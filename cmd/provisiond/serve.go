package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/provisiond/provisiond/admin"
	"github.com/provisiond/provisiond/assets"
	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/server"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/bolt"
)

// serveConfig is everything `provisiond serve` is told.
type serveConfig struct {
	Addr              string
	AdminAddr         string
	DataDir           string
	Catalog           string
	AssetsDir         string
	LogFormat         string
	LogLevel          string
	MaxQueryBytes     int
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
	Admin             adminConfig
	Security          securityConfig
	Netboot           netbootConfig
	Store             storeConfig
}

func serveFlags(cfg *serveConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "`address` of the boot listener (iPXE, configs, assets, metrics); port 0 picks a free port")
	fs.StringVar(&cfg.AdminAddr, "admin-addr", "127.0.0.1:8081", "`address` of the admin API listener; empty disables it. An address that is not loopback needs --admin-token-file or --admin-client-ca")
	fs.StringVar(&cfg.DataDir, "data-dir", "./data", "`directory` of the embedded database ("+bolt.FileName+"); unused with --store etcd")
	fs.StringVar(&cfg.Catalog, "catalog", "", "matchbox-layout catalog `directory` (profiles/, groups/, ignition/, cloud/, generic/, pools/, machines/),\nloaded into the store at start and again on SIGHUP; without it the stored catalog is served")
	fs.StringVar(&cfg.AssetsDir, "assets-dir", "", "`directory` served under /assets/ (default: the catalog's assets/ when it exists)")
	fs.StringVar(&cfg.LogFormat, "log-format", "text", "log `format`: text or json")
	fs.StringVar(&cfg.LogLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.IntVar(&cfg.MaxQueryBytes, "max-query-bytes", 4096, "longest boot request query string in `bytes` (414 beyond)")
	fs.DurationVar(&cfg.ReadHeaderTimeout, "read-header-timeout", 10*time.Second, "time a client has to send its request headers")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", 120*time.Second, "time an idle keep-alive connection is kept open")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "time in-flight requests get to finish on SIGTERM")
	addAdminFlags(fs, &cfg.Admin)
	addSecurityFlags(fs, &cfg.Security)
	netbootFlags(fs, &cfg.Netboot)
	storeFlags(fs, &cfg.Store)
	return fs
}

const serveIntro = `Usage: provisiond serve [flags]

Runs the boot server: /boot.ipxe, /ipxe, /grub, /ignition, /cloud, /generic,
/metadata, /assets/, /healthz, /readyz and /metrics on --addr, and the admin
API on --admin-addr. SIGHUP reloads --catalog; a catalog that does not
validate is refused and the old one keeps being served. SIGHUP also
re-reads the admin token file, the boot secret file and both listeners'
certificates (each keeps its previous value if the new one does not
load). SIGINT or SIGTERM shuts down gracefully. SECURITY.md explains boot
tokens, TLS and the limits below.

Flags:
`

func serve(args []string, stderr io.Writer) int {
	var cfg serveConfig
	fs := serveFlags(&cfg)
	fs.SetOutput(stderr)
	fs.Usage = flagUsage(fs, serveIntro)
	if err := parseWithEnv(fs, args, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "provisiond serve: %v\n", err)
		return 2
	}
	logger, err := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		fmt.Fprintf(stderr, "provisiond serve: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runServe(ctx, cfg, logger); err != nil {
		logger.Error("provisiond stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// checkConfig validates paths and addresses up front, naming the flag.
func checkConfig(cfg *serveConfig) error {
	if cfg.Catalog != "" {
		st, err := os.Stat(cfg.Catalog)
		if err != nil {
			return fmt.Errorf("--catalog: %w", err)
		}
		if !st.IsDir() {
			return fmt.Errorf("--catalog %s: not a directory", cfg.Catalog)
		}
		if cfg.AssetsDir == "" {
			if st, err := os.Stat(filepath.Join(cfg.Catalog, "assets")); err == nil && st.IsDir() {
				cfg.AssetsDir = filepath.Join(cfg.Catalog, "assets")
			}
		}
	}
	if cfg.AssetsDir != "" {
		st, err := os.Stat(cfg.AssetsDir)
		if err != nil {
			return fmt.Errorf("--assets-dir: %w", err)
		}
		if !st.IsDir() {
			return fmt.Errorf("--assets-dir %s: not a directory", cfg.AssetsDir)
		}
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return fmt.Errorf("--addr %q: %v", cfg.Addr, err)
	}
	if err := checkAdmin(cfg.AdminAddr, cfg.Admin); err != nil {
		return err
	}
	if cfg.MaxQueryBytes <= 0 {
		return fmt.Errorf("--max-query-bytes %d: must be positive", cfg.MaxQueryBytes)
	}
	if err := checkSecurity(&cfg.Security); err != nil {
		return err
	}
	if err := checkNetboot(&cfg.Netboot, cfg.Addr); err != nil {
		return err
	}
	return checkStore(&cfg.Store)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func runServe(ctx context.Context, cfg serveConfig, log *slog.Logger) error {
	if err := checkConfig(&cfg); err != nil {
		return err
	}
	store, err := openStore(ctx, cfg.Store, cfg.DataDir, log)
	if err != nil {
		return err
	}
	defer store.Close()

	leases, err := store.Leases(ctx)
	if err != nil {
		return fmt.Errorf("reading leases: %w", err)
	}
	table := ipam.NewTable(leases)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Every store operation, the boot path's allocations included, is
	// timed where the store is (storage/metrics.go).
	timed := &storage.Timed{Store: store, Observe: storage.NewMetrics(reg).Observe}
	cacheStats := &catalog.CacheStats{}
	catalogs := &storage.Catalogs{Store: timed, Leases: table, Options: catalog.Options{Stats: cacheStats,
		MaxOutput: cfg.Security.MaxOutputBytes, RenderTimeout: cfg.Security.RenderTimeout}}

	known, err := store.Machines(ctx)
	if err != nil {
		return fmt.Errorf("reading the inventory: %w", err)
	}
	rec := inventory.NewRecorder(timed, known, log)
	recCtx, stopRec := context.WithCancel(context.Background())
	recDone := make(chan struct{})
	go func() { rec.Run(recCtx); close(recDone) }()
	defer func() { stopRec(); <-recDone }()

	var assetsHandler http.Handler
	if cfg.AssetsDir != "" {
		a, err := assets.New(cfg.AssetsDir, log)
		if err != nil {
			return fmt.Errorf("--assets-dir: %w", err)
		}
		defer a.Close()
		assetsHandler = a
		log.Info("serving assets", "dir", cfg.AssetsDir)
	}

	var netbootHandler http.Handler
	if files, err := netbootFiles(cfg.Netboot, log); err != nil {
		return err
	} else if files != nil {
		defer files.Close()
		netbootHandler = files
	}

	tokens, err := bootTokens(cfg.Security, log)
	if err != nil {
		return err
	}
	bootTC, bootCert, err := bootTLS(cfg.Security)
	if err != nil {
		return err
	}
	var adminCert *certReloader
	srv := server.New(server.Config{
		Logger:        log,
		Allocator:     timed,
		Leases:        table,
		Recorder:      rec,
		Assets:        assetsHandler,
		Netboot:       netbootHandler,
		Registry:      reg,
		MaxQueryBytes: cfg.MaxQueryBytes,
		CacheStats:    cacheStats,
		Machines:      rec,

		BootTokens:           tokens,
		MaxInflightPerClient: cfg.Security.MaxInflightPerClient,
		MaxLabels:            cfg.Security.MaxLabels,
	})
	catalogs.Swap = srv.Swap
	loader := &catalogLoader{dir: cfg.Catalog, catalogs: catalogs, log: log}
	if _, err := loader.initial(ctx); err != nil {
		return err
	}
	// With a shared store (etcd), follow the other replicas' writes.
	followCtx, stopFollow := context.WithCancel(context.Background())
	waitFollow := followStore(followCtx, store, catalogs, log)
	defer func() { stopFollow(); waitFollow() }()
	// proxyDHCP / full DHCP and TFTP (docs/netboot.md); after the catalog
	// load, since full DHCP mode checks its pool.
	nb, err := startNetboot(cfg.Netboot, log, reg, rec, store, table, srv)
	if err != nil {
		return err
	}
	defer nb.Close()

	var servers []*http.Server
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	var bootURL string
	var auth *admin.Auth
	start := func(name, addr string, h http.Handler, tc *tls.Config) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("--%s: %w", map[string]string{"boot": "addr", "admin": "admin-addr"}[name], err)
		}
		if name == "boot" {
			bootURL = "http://" + ln.Addr().String()
			if tc != nil {
				bootURL = "https://" + ln.Addr().String()
			}
		}
		if tc != nil {
			ln = tls.NewListener(ln, tc)
		}
		hs := &http.Server{
			Handler:           h,
			ReadHeaderTimeout: cfg.ReadHeaderTimeout,
			IdleTimeout:       cfg.IdleTimeout,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		}
		servers = append(servers, hs)
		log.Info("listening", "listener", name, "addr", ln.Addr().String())
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s listener: %w", name, err)
			}
		}()
		return nil
	}
	if err := start("boot", cfg.Addr, srv, bootTC); err != nil {
		return err
	}
	if cfg.AdminAddr != "" {
		adm, tc, err := newAdmin(cfg, log, catalogs, catalogs, rec, table, bootURL, reg, tokens)
		if err != nil {
			shutdown(servers, cfg.ShutdownTimeout)
			return err
		}
		auth = adm.Auth()
		if tc != nil {
			if adminCert, err = newCertReloader(cfg.Admin.TLSCert, cfg.Admin.TLSKey, "--admin-tls-cert/--admin-tls-key"); err != nil {
				shutdown(servers, cfg.ShutdownTimeout)
				return err
			}
			tc = adminCert.use(tc)
		}
		if err := start("admin", cfg.AdminAddr, adm, tc); err != nil {
			shutdown(servers, cfg.ShutdownTimeout)
			return err
		}
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			log.Info("shutting down")
			break loop
		case err := <-errc:
			runErr = err
			break loop
		case <-hup:
			reloadTokens(cfg.Admin, auth, log)
			reloadBootSecrets(cfg.Security, tokens, log)
			bootCert.reload(log)
			adminCert.reload(log)
			if cfg.Catalog == "" {
				log.Warn("SIGHUP: no --catalog to reload")
				continue
			}
			loader.reload(context.Background())
		}
	}
	shutdown(servers, cfg.ShutdownTimeout)
	wg.Wait()
	return runErr
}

func shutdown(servers []*http.Server, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, hs := range servers {
		hs.Shutdown(ctx)
	}
}

// catalogLoader loads --catalog into the store and the server, at start
// and on SIGHUP.
type catalogLoader struct {
	dir      string
	catalogs *storage.Catalogs
	log      *slog.Logger
	// lastLoaded is the directory's content at the last load, stored the
	// catalog in the store before the first one (see reportOverwrites).
	lastLoaded, stored *catalog.Catalog
}

func (l *catalogLoader) initial(ctx context.Context) (*catalog.Snapshot, error) {
	if l.dir == "" {
		snap, warnings, err := l.catalogs.LoadStored(ctx)
		l.warn(warnings)
		if err != nil {
			return nil, err
		}
		l.log.Info("serving the stored catalog (no --catalog)", "profiles", len(snap.Catalog.Profiles), "groups", len(snap.Catalog.Groups))
		return snap, nil
	}
	l.stored, _ = l.catalogs.Store.LoadCatalog(ctx) // for reportOverwrites
	snap, err := l.load(ctx)
	l.stored = nil // only the first load compares with it: do not keep a second catalog alive
	if err != nil {
		return nil, fmt.Errorf("--catalog %s: %w", l.dir, err)
	}
	return snap, nil
}

func (l *catalogLoader) load(ctx context.Context) (*catalog.Snapshot, error) {
	start := time.Now()
	c, err := catalog.LoadDir(l.dir)
	if err != nil {
		return nil, err
	}
	before := l.catalogs.Current()
	snap, warnings, err := l.catalogs.Replace(ctx, c)
	l.warn(warnings)
	if err != nil {
		return nil, err
	}
	l.reportOverwrites(before, c)
	l.log.Info("catalog loaded", "dir", l.dir, "profiles", len(c.Profiles), "groups", len(c.Groups),
		"templates", len(c.Templates["ignition"])+len(c.Templates["cloud"])+len(c.Templates["generic"]),
		"pools", len(c.Pools), "machines", len(c.Machines), "duration", time.Since(start))
	return snap, nil
}

func (l *catalogLoader) reload(ctx context.Context) {
	if _, err := l.load(ctx); err != nil {
		l.log.Error("catalog reload refused; still serving the previous catalog", "dir", l.dir, "err", err)
	}
}

func (l *catalogLoader) warn(warnings []string) {
	for _, w := range warnings {
		l.log.Warn("catalog", "warning", strings.TrimSpace(w))
	}
}
