package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	cmdline "github.com/provisiond/provisiond/internal/cli"
	"github.com/provisiond/provisiond/internal/reqlog"
	"github.com/provisiond/provisiond/storage/bolt"
)

// serveConfig is everything `provisiond serve` is told.
type serveConfig struct {
	Addr              string
	AdminAddr         string
	DataDir           string
	Catalog           string
	AllowRelease      bool
	AssetsDir         string
	LogFormat         string
	LogLevel          string
	LogFlush          time.Duration
	MaxQueryBytes     int
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
	MemoryLimit       string
	Admin             adminConfig
	Security          securityConfig
	Netboot           netbootConfig
	Store             storeConfig
	RPC               rpcConfig
	Lifecycle         lifecycleConfig
}

func serveFlags(cfg *serveConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "`address` of the boot listener (iPXE, configs, assets, metrics); port 0 picks a free port")
	fs.StringVar(&cfg.AdminAddr, "admin-addr", "127.0.0.1:8081", "`address` of the admin API listener; empty disables it. An address that is not loopback needs --admin-token-file or --admin-client-ca")
	fs.StringVar(&cfg.DataDir, "data-dir", "./data", "`directory` of the embedded database ("+bolt.FileName+"); unused with --store etcd")
	fs.StringVar(&cfg.Catalog, "catalog", "", "matchbox-layout catalog `directory` (profiles/, groups/, ignition/, cloud/, generic/, pools/, machines/),\nloaded into the store at start and again on SIGHUP; without it the stored catalog is served")
	fs.BoolVar(&cfg.AllowRelease, "allow-release", false, "let the --catalog load at start drop every group or release leases of machines it no longer registers (refused without it; SIGHUP reloads are always refused)")
	fs.StringVar(&cfg.AssetsDir, "assets-dir", "", "`directory` served under /assets/ (default: the catalog's assets/ when it exists)")
	fs.StringVar(&cfg.LogFormat, "log-format", "text", "log `format`: text or json")
	fs.StringVar(&cfg.LogLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.DurationVar(&cfg.LogFlush, "log-flush", 100*time.Millisecond, "longest `time` a request log line is held to be written together with others (one write for many lines); other lines are written at once; 0 writes each request line at once")
	fs.IntVar(&cfg.MaxQueryBytes, "max-query-bytes", 4096, "longest boot request query string in `bytes` (414 beyond)")
	fs.DurationVar(&cfg.ReadHeaderTimeout, "read-header-timeout", 10*time.Second, "time a client has to send its request headers")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", 120*time.Second, "time an idle keep-alive connection is kept open")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "time in-flight requests get to finish on SIGTERM")
	fs.StringVar(&cfg.MemoryLimit, "memory-limit", "", "soft memory limit of the process in `bytes` (B, KiB, MiB, GiB, TiB as GOMEMLIMIT; off: none); the garbage collector works harder near it. Default: GOMEMLIMIT, else none")
	addAdminFlags(fs, &cfg.Admin)
	addSecurityFlags(fs, &cfg.Security)
	netbootFlags(fs, &cfg.Netboot)
	storeFlags(fs, &cfg.Store)
	rpcFlags(fs, &cfg.RPC)
	lifecycleFlags(fs, &cfg.Lifecycle)
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
tokens, TLS and the limits below. With --rpc-addr, matchbox's gRPC API
(terraform-provider-matchbox) is served too; with --catalog, changes made
through the APIs are written back into the directory.

` + matchboxHelp + `

Flags:
`

func serve(args []string, stdout, stderr io.Writer) int {
	var cfg serveConfig
	fs := serveFlags(&cfg)
	fs.SetOutput(stderr)
	fs.Usage = flagUsage(fs, serveIntro)
	args, mbFlags, err := matchboxArgs(args) // serve_matchbox.go
	if err != nil {
		return cmdline.Exit(stderr, "serve", cmdline.Usage(err))
	}
	if err := parseWithEnv(fs, args, nil); err != nil {
		return cmdline.Exit(stderr, "serve", err)
	}
	mbMode, mbDefaults, err := matchboxEnv(fs, &cfg, mbFlags, nil)
	if err != nil {
		return cmdline.Exit(stderr, "serve", cmdline.Usage(err))
	}
	logger, flush, err := newLogger(stderr, cfg.LogFormat, cfg.LogLevel, cfg.LogFlush)
	if err != nil {
		return cmdline.Exit(stderr, "serve", err)
	}
	// The request lines still held go out before serve's last word
	// (cmdline.Exit) and before the process exits.
	defer flush()
	if mbMode {
		logger.Info("matchbox's flags or variables: matchbox's defaults apply", "defaults", strings.Join(mbDefaults, " "))
		if err := prepareMatchboxCatalog(cfg.Catalog); err != nil {
			return cmdline.Exit(stderr, "serve", err)
		}
	}
	defer startProfiles(logger)() // profile.go: PROVISIOND_CPUPROFILE, PROVISIOND_TRACE
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = runServe(ctx, cfg, logger)
	flush()
	return cmdline.Exit(stderr, "serve", err)
}

// runServe checks cfg, then runs the daemon until ctx is done or a
// listener fails; SIGHUP reloads it.
func runServe(ctx context.Context, cfg serveConfig, log *slog.Logger) error {
	if err := checkConfig(&cfg); err != nil {
		return cmdline.Usage(err) // a flag's value: exit status 2
	}
	if err := applyMemoryLimit(cfg.MemoryLimit, log); err != nil {
		return cmdline.Usage(err)
	}
	d := newDaemon(cfg, log)
	// SIGHUP is caught from the start: one that comes before the daemon
	// is up is a reload once it is, not the end of the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := d.Start(ctx); err != nil {
		return err
	}
	defer d.Stop()
	for {
		select {
		case <-ctx.Done():
			log.Info("shutting down")
			return nil
		case err := <-d.Failed():
			return err
		case <-hup:
			d.Reload(context.Background())
		}
	}
}

// newLogger returns serve's logger, whose request lines are held for at
// most flushEvery (--log-flush), and the func that writes those still
// held.
func newLogger(w io.Writer, format, level string, flushEvery time.Duration) (*slog.Logger, func(), error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, cmdline.Usagef("--log-level %q: want debug, info, warn or error", level)
	}
	if flushEvery < 0 {
		return nil, nil, cmdline.Usagef("--log-flush %s: want 0 or more", flushEvery)
	}
	// reqlog's handlers are slog's, plus the request line written
	// without a slog.Record (server.requestLog). With ReplaceAttr or
	// AddSource in opts they would be slog's alone.
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch format {
	case "text":
		h = reqlog.NewTextHandler(w, opts)
	case "json":
		h = reqlog.NewJSONHandler(w, opts)
	default:
		return nil, nil, cmdline.Usagef("--log-format %q: want text or json", format)
	}
	flush := func() {}
	if rh, ok := h.(*reqlog.Handler); ok {
		rh.Buffer(flushEvery)
		flush = func() { _ = rh.Flush() }
	}
	return slog.New(h), flush, nil
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
	if err := checkListenAddr("addr", cfg.Addr); err != nil {
		return err
	}
	if cfg.AdminAddr != "" {
		if err := checkListenAddr("admin-addr", cfg.AdminAddr); err != nil {
			return err
		}
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
	if err := checkRPC(cfg.RPC); err != nil {
		return err
	}
	if err := checkPortClash(cfg); err != nil {
		return err
	}
	if err := checkLifecycle(cfg.Lifecycle); err != nil {
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

// checkListenAddr checks a listen address without resolving it: HOST:PORT
// with a numeric port, and a HOST that is empty, an IP address or a host
// name (an address such as 300.1.1.1 is not taken for a host name).
// checkPortClash refuses two TCP listeners on one port with overlapping
// hosts (the same, or either a wildcard), which would otherwise fail at
// the second listen, after the first had started: --rpc-addr 0.0.0.0:8081
// (matchbox's gRPC port) against the default --admin-addr 127.0.0.1:8081.
// It runs after each address was checked on its own.
func checkPortClash(cfg *serveConfig) error {
	type listener struct{ flag, addr string }
	var ls []listener
	for _, l := range []listener{{"addr", cfg.Addr}, {"admin-addr", cfg.AdminAddr}, {"rpc-addr", cfg.RPC.Addr}} {
		if l.addr != "" {
			ls = append(ls, l)
		}
	}
	wildcard := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	for i, a := range ls {
		ha, pa, _ := net.SplitHostPort(a.addr)
		for _, b := range ls[i+1:] {
			hb, pb, _ := net.SplitHostPort(b.addr)
			if pa != pb || pa == "0" || !(ha == hb || wildcard(ha) || wildcard(hb)) {
				continue
			}
			hint := ""
			if a.flag == "admin-addr" || b.flag == "admin-addr" {
				hint = " (with --rpc-addr on matchbox's port 8081, move the admin API: --admin-addr 127.0.0.1:8082)"
			}
			return cmdline.Usagef("--%s %s and --%s %s: both listen on port %s; give one another port%s", a.flag, a.addr, b.flag, b.addr, pa, hint)
		}
	}
	return nil
}

func checkListenAddr(flagName, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--%s %q: want HOST:PORT, as 127.0.0.1:8080 or :8080", flagName, addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("--%s %q: port %q is not a number from 0 to 65535", flagName, addr, port)
	}
	if host == "" || host == "localhost" {
		return nil
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if strings.Trim(host, "0123456789.") == "" || strings.Contains(host, ":") {
		return fmt.Errorf("--%s %q: %s is not a valid IP address", flagName, addr, host)
	}
	return nil // a host name, resolved when the listener starts
}
