// Command bootstorm plays a boot storm against a provisiond on this host:
// N distinct machines, each through the real sequence of a network boot
// (/boot.ipxe, /ipxe, a ranged read of the kernel, its first-boot config
// with a first-time lease, /metadata), with a concurrency knob. It reports
// per-endpoint requests per second, p50/p99/max latency and errors, and
// checks that no two machines got the same address.
//
// It only ever targets loopback (--server must be 127.0.0.0/8, ::1 or
// localhost) and always stops by itself: after the last machine, or at
// --timeout.
//
// With --spawn it generates a catalog (internal/catalogen) into a temporary
// directory, builds and starts its own `provisiond serve` on 127.0.0.1:0
// pinned to CPU 0 (taskset), runs the load pinned to CPU 1, measures
// start-up time and resident memory, kills the server with SIGKILL after
// the storm and checks that every machine gets the same address from a
// restarted server, then measures each endpoint's steady-state throughput
// (wrk when installed) against the same server's static /boot.ipxe.
// --table runs that for each --shape and --sizes and prints one table
// (docs/performance.md), a row per server, shape and size; with --matchbox
// BIN the real matchbox serves each matchbox-shape directory after
// provisiond, in the same table. Every server runs with GODEBUG=gctrace=1
// (the garbage collector's share of its CPU, gctrace.go) and under a
// memory watchdog (--max-rss, --min-available) that stops it and says so
// rather than let a run at a million machines exhaust a shared host.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/provisiond/provisiond/internal/catalogen"
)

type config struct {
	Server      string
	Spawn       bool
	Table       bool
	N           int
	Machines    int
	Concurrency int
	SteadyConns int
	SteadyDur   time.Duration
	Rounds      int
	Paired      bool

	// MaxSteal bounds the share of the CPUs' time the hypervisor may
	// steal in a steady-state window (0: no bound); StealRetries is how
	// many times a window over it is measured again.
	MaxSteal     float64
	StealRetries int

	Timeout    time.Duration
	Provisiond string
	ServerCPU  string
	LoadCPU    string
	Assets     bool
	AssetMiB   int
	Nginx      bool
	LogLevel   string
	// Admin gives the spawned servers their admin listener (on
	// 127.0.0.1:0), as provisiond serve has one by default.
	Admin bool
	Keep  bool
	Shape catalogen.Shape
	Sizes []int
	// MaxRSSMiB and MinAvailableMiB bound the memory of every server we
	// start (0: no bound).
	MaxRSSMiB, MinAvailableMiB float64
	// Matchbox is the matchbox binary of the comparison ("" for none).
	Matchbox            string
	MatchboxMaxN        int
	MatchboxConcurrency int
	MatchboxConns       int
	MatchboxRequests    int
	MatchboxStorm       time.Duration
	MatchboxDuration    time.Duration
	MatchboxTimeout     time.Duration
	MatchboxLogLevel    string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var cfg config
	fs := flag.NewFlagSet("bootstorm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Server, "server", "", "`URL` of a running provisiond (loopback only) serving a catalog generated for --n machines")
	fs.BoolVar(&cfg.Spawn, "spawn", false, "generate a catalog of --n machines and start a provisiond of our own for the run")
	fs.BoolVar(&cfg.Table, "table", false, "with --spawn semantics, run N = 10, 10,000 and 100,000 and print the tables of docs/performance.md")
	fs.IntVar(&cfg.N, "n", 10000, "machines in the generated catalog")
	fs.IntVar(&cfg.Machines, "machines", 10000, "machines in the storm (at most --n)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 128, "machines booting at the same time during the storm")
	fs.IntVar(&cfg.SteadyConns, "c", 16, "connections for the steady-state measurement")
	fs.DurationVar(&cfg.SteadyDur, "duration", 10*time.Second, "steady-state measurement per endpoint; 0 skips it")
	fs.BoolVar(&cfg.Paired, "paired", true, "steady state: a /boot.ipxe window before each endpoint's in every round and one after the last, each endpoint's ratio to /boot.ipxe the median over the rounds of its window against the mean of the /boot.ipxe windows on either side of it (false: one /boot.ipxe window a round, the endpoints against it)")
	fs.IntVar(&cfg.Rounds, "rounds", 5, "steady state: split --duration into this many rounds over all endpoints and report the median round, so that a change in background load hits every endpoint alike (5: with --paired, the median of five pairs of windows; three left an endpoint under 0.9 of /boot.ipxe in half the rows on a shared machine, docs/performance.md)")
	maxSteal := fs.Float64("max-steal", 5, "steady state: a window in which the hypervisor stole more than this `percent` of the server's and the load's CPU time (/proc/stat) is measured again, with the /boot.ipxe window of its pair; 0: no bound")
	fs.IntVar(&cfg.StealRetries, "steal-retries", 2, "steady state: how many times a window over --max-steal is measured again before it is kept (the table's notes count them)")
	fs.DurationVar(&cfg.Timeout, "timeout", 15*time.Minute, "stop everything after this long")
	fs.StringVar(&cfg.Provisiond, "provisiond", "", "provisiond `binary` for --spawn (default: go build ./cmd/provisiond)")
	fs.StringVar(&cfg.ServerCPU, "server-cpu", "0", "CPU list the spawned server is pinned to (taskset -c); empty: no pinning")
	fs.StringVar(&cfg.LoadCPU, "load-cpu", "1", "CPU list the load runs on (taskset -c); empty: no pinning")
	fs.BoolVar(&cfg.Assets, "assets", false, "also measure /assets on a --asset-mib file, against nginx when installed (--spawn)")
	fs.IntVar(&cfg.AssetMiB, "asset-mib", 100, "size of the asset for --assets")
	fs.StringVar(&cfg.LogLevel, "log-level", "info", "--log-level of the spawned server (its log goes to a file)")
	fs.BoolVar(&cfg.Admin, "admin", true, "give the spawned server its admin listener (on 127.0.0.1:0; the console's live events record every boot request), as provisiond serve has one by default; --admin=false serves without")
	fs.BoolVar(&cfg.Keep, "keep", false, "keep the temporary directory (catalog, database, server log)")
	shape := fs.String("shape", "pooled", "catalog `shape`: pooled (rack pools, sticky leases, four kinds of machines) or matchbox (one group file per machine with its own metadata and address, two profiles, one Butane template, one raw Ignition); --table with both: pooled,matchbox")
	sizes := fs.String("sizes", "10,10000,100000", "catalog sizes --table runs, comma-separated")
	maxRSS := fs.String("max-rss", "12GiB", "stop any server we started (SIGKILL) whose resident memory passes this `size`, and report it; 0: no bound")
	minAvail := fs.String("min-available", "2GiB", "stop any server we started when the host's MemAvailable falls under this `size` (the machine is shared); 0: no bound")
	fs.StringVar(&cfg.Matchbox, "matchbox", "", "matchbox `binary` to compare with: serves each matchbox-shape directory of --table (or --spawn --shape matchbox) after provisiond, pinned the same way")
	fs.IntVar(&cfg.MatchboxMaxN, "matchbox-max-n", 100000, "compare with matchbox only up to this many groups")
	fs.IntVar(&cfg.MatchboxConcurrency, "matchbox-concurrency", 4, "machines booting at the same time in matchbox's storm (it reads every group file per request: more only queue)")
	fs.DurationVar(&cfg.MatchboxStorm, "matchbox-storm", time.Minute, "matchbox's storm starts new machines for at most this long")
	fs.IntVar(&cfg.MatchboxConns, "matchbox-conns", 2, "connections for matchbox's slow endpoints (one request taking over 50 ms)")
	fs.IntVar(&cfg.MatchboxRequests, "matchbox-requests", 200, "at most this many requests per slow matchbox endpoint")
	fs.DurationVar(&cfg.MatchboxDuration, "matchbox-duration", 20*time.Second, "slow matchbox endpoints: send requests for at most this long (those in flight finish)")
	fs.DurationVar(&cfg.MatchboxTimeout, "matchbox-timeout", 5*time.Minute, "timeout of one request to matchbox")
	fs.StringVar(&cfg.MatchboxLogLevel, "matchbox-log-level", "info", "matchbox's -log-level (info: a line per request, as provisiond's --log-level info)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	shapes, err := parseShapes(*shape)
	if err != nil {
		fmt.Fprintf(stderr, "bootstorm: --shape: %v\n", err)
		return 2
	}
	if len(shapes) > 1 && !cfg.Table {
		fmt.Fprintln(stderr, "bootstorm: --shape: several shapes need --table")
		return 2
	}
	cfg.Shape = shapes[0]
	if cfg.Sizes, err = parseSizes(*sizes); err != nil {
		fmt.Fprintf(stderr, "bootstorm: --sizes: %v\n", err)
		return 2
	}
	if cfg.MaxRSSMiB, err = parseMiB(*maxRSS); err != nil {
		fmt.Fprintf(stderr, "bootstorm: --max-rss: %v\n", err)
		return 2
	}
	if cfg.MinAvailableMiB, err = parseMiB(*minAvail); err != nil {
		fmt.Fprintf(stderr, "bootstorm: --min-available: %v\n", err)
		return 2
	}
	if cfg.Matchbox != "" {
		if cfg.Matchbox, err = exec.LookPath(cfg.Matchbox); err != nil {
			fmt.Fprintf(stderr, "bootstorm: --matchbox: %v\n", err)
			return 2
		}
		if cfg.MatchboxConcurrency < 1 || cfg.MatchboxConns < 1 || cfg.MatchboxRequests < 1 || cfg.MatchboxStorm <= 0 || cfg.MatchboxDuration <= 0 || cfg.MatchboxTimeout <= 0 {
			fmt.Fprintln(stderr, "bootstorm: the --matchbox-* counts and durations must be positive")
			return 2
		}
		if !slices.Contains(shapes, catalogen.Matchbox) {
			fmt.Fprintln(stderr, "bootstorm: --matchbox needs the matchbox shape (--shape matchbox): matchbox has no pools")
			return 2
		}
	}
	timeoutSet := false
	fs.Visit(func(f *flag.Flag) { timeoutSet = timeoutSet || f.Name == "timeout" })
	if cfg.Table && !timeoutSet {
		// A table at a million machines runs for an hour or more.
		cfg.Timeout = 4 * time.Hour
	}
	if cfg.Table {
		cfg.Spawn = true
	}
	if !cfg.Spawn && cfg.Server == "" {
		fmt.Fprintln(stderr, "bootstorm: give --server URL (loopback) or --spawn")
		return 2
	}
	if cfg.Server != "" {
		if err := checkLoopback(cfg.Server); err != nil {
			fmt.Fprintf(stderr, "bootstorm: --server: %v\n", err)
			return 2
		}
	}
	if cfg.N < 1 || cfg.Machines < 0 || cfg.Concurrency < 1 || cfg.SteadyConns < 1 || cfg.Rounds < 1 {
		fmt.Fprintln(stderr, "bootstorm: --n, --concurrency, -c and --rounds must be positive")
		return 2
	}
	if *maxSteal < 0 || *maxSteal > 100 || cfg.StealRetries < 0 {
		fmt.Fprintln(stderr, "bootstorm: --max-steal is a percent from 0 to 100, --steal-retries at least 0")
		return 2
	}
	cfg.MaxSteal = *maxSteal / 100
	if code, ran, err := pinSelf(cfg.LoadCPU, args, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "bootstorm: pinning to CPU %s: %v (continuing unpinned)\n", cfg.LoadCPU, err)
	} else if ran {
		return code // a copy of us pinned to --load-cpu did the work
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	switch {
	case cfg.Table:
		err = runTable(ctx, cfg, shapes, stdout, stderr)
	case cfg.Spawn:
		err = runOne(ctx, cfg, stdout, stderr)
	default:
		var r *result
		r, err = runAgainst(ctx, cfg, cfg.Server)
		if r != nil {
			r.print(stdout)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "bootstorm: %v\n", err)
		return 1
	}
	return 0
}

// runOne is --spawn: one size, one shape; with --matchbox (matchbox
// shape) matchbox on the same directory after provisiond, and both rows
// of the one table.
func runOne(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	w, err := prepare(ctx, cfg, stderr)
	if w != nil {
		defer w.remove(cfg.Keep, stderr)
	}
	if err != nil {
		return err
	}
	r, err := runOn(ctx, cfg, w, stderr)
	r.print(stdout)
	if cfg.Matchbox == "" {
		printOneTable(stdout, []*result{r}, cfg)
		return err
	}
	rs := []*result{r}
	rm, merr := runMatchbox(ctx, cfg, w, stderr)
	rm.print(stdout)
	rs = append(rs, rm)
	printOneTable(stdout, rs, cfg)
	return errors.Join(err, merr)
}

// runAgainst storms an already running server, then measures it.
func runAgainst(ctx context.Context, cfg config, base string) (*result, error) {
	// Not our process: no GC trace; steal only of the steady state's
	// windows (in the note).
	r := &result{N: cfg.N, Shape: cfg.Shape, GCStartup: -1, GCStoreStartup: -1, GCAgainStartup: -1, GCStorm: -1, GCSteady: -1,
		StealStartup: -1, StealStorm: -1, StealSteady: -1}
	storm, err := runStorm(ctx, base, cfg.Shape, min(cfg.Machines, cfg.N), cfg.Concurrency)
	r.Storm = storm
	if err != nil {
		return r, err
	}
	if cfg.SteadyDur > 0 {
		r.Steady, r.SteadyNote, err = runSteady(ctx, base, cfg, nil)
	}
	return r, err
}

func parseShapes(s string) ([]catalogen.Shape, error) {
	var out []catalogen.Shape
	for _, f := range strings.Split(s, ",") {
		sh, err := catalogen.ParseShape(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, sh)
	}
	return out, nil
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want positive machine counts, comma-separated", s)
		}
		out = append(out, n)
	}
	return out, nil
}
