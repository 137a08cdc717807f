package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/provisiond/provisiond/internal/catalogen"
)

// spawned is a server we started (provisiond, matchbox or nginx).
type spawned struct {
	cmd     *exec.Cmd
	base    string
	log     string
	t0      time.Time // exec
	startup time.Duration
	// startupCPU is the CPU time the server had used when it was up.
	startupCPU time.Duration
	// cpus are the CPUs the server is pinned to (nil: all of them);
	// stat0 and statUp their /proc/stat counters at exec and when the
	// server was up (for the steal share).
	cpus          []int
	stat0, statUp cpuTimes
	load          string // the "catalog loaded" line's duration
	// dirServed is the time from exec to the "catalog directory loaded"
	// line, when --catalog loaded in the background over a stored catalog
	// that was served meanwhile (0 otherwise).
	dirServed time.Duration
	// phases are the times from exec to the start-up's log lines.
	phases []phase
	done   chan error
	// exited is closed when the process has exited.
	exited chan struct{}
	// bound is set when the memory watchdog stopped the server.
	bound atomic.Pointer[boundStop]
}

// workDir holds one run's catalog, database and logs.
type workDir struct {
	dir, catalog, data, bin string
}

func prepare(ctx context.Context, cfg config, stderr io.Writer) (*workDir, error) {
	dir, err := os.MkdirTemp("", "bootstorm-")
	if err != nil {
		return nil, err
	}
	os.Chmod(dir, 0o755) // nginx workers run as nobody and read assets below
	w := &workDir{dir: dir, catalog: filepath.Join(dir, "catalog"), data: filepath.Join(dir, "data"), bin: cfg.Provisiond}
	if w.bin == "" {
		w.bin = filepath.Join(dir, "provisiond")
		fmt.Fprintln(stderr, "bootstorm: building provisiond")
		build := exec.CommandContext(ctx, "go", "build", "-o", w.bin, "github.com/provisiond/provisiond/cmd/provisiond")
		build.Stderr = stderr
		if err := build.Run(); err != nil {
			return w, fmt.Errorf("go build provisiond: %w", err)
		}
	}
	t := time.Now()
	c, err := cfg.Shape.New(cfg.N)
	if err != nil {
		return w, err
	}
	if err := catalogen.Write(w.catalog, c); err != nil {
		return w, err
	}
	assets := filepath.Join(w.catalog, "assets")
	if err := catalogen.WriteAssets(assets, 8<<20, 2<<20); err != nil {
		return w, err
	}
	if cfg.Assets {
		if err := catalogen.WriteRandomFile(filepath.Join(assets, "big.img"), int64(cfg.AssetMiB)<<20); err != nil {
			return w, err
		}
	}
	if err := syncFS(w.catalog); err != nil {
		return w, fmt.Errorf("flushing the catalog to disk: %w", err)
	}
	fmt.Fprintf(stderr, "bootstorm: generated a %s catalog of %d machines in %s (%s, flushed to disk)\n", cfg.Shape, cfg.N, w.catalog, time.Since(t).Round(time.Millisecond))
	return w, nil
}

func (w *workDir) remove(keep bool, stderr io.Writer) {
	if keep {
		fmt.Fprintf(stderr, "bootstorm: kept %s\n", w.dir)
		return
	}
	os.RemoveAll(w.dir)
}

// pinned returns argv prefixed with taskset -c cpus when cpus is set and
// taskset is installed.
func pinned(cpus string, argv ...string) []string {
	if cpus == "" {
		return argv
	}
	if ts, err := exec.LookPath("taskset"); err == nil {
		return append([]string{ts, "-c", cpus}, argv...)
	}
	return argv
}

var (
	listenLine = regexp.MustCompile(`msg=listening listener=boot addr=(\S+)`)
	loadedLine = regexp.MustCompile(`msg="catalog loaded".* duration=(\S+)`)
	// servingStored and dirLoaded are the lines of a restart with
	// --catalog over a stored catalog: the stored one is served while the
	// directory loads in the background.
	servingStored = regexp.MustCompile(`msg="serving the stored catalog \(revision [0-9a-f]+\) while `)
	dirLoaded     = regexp.MustCompile(`msg="catalog directory loaded`)
	timeAttr      = regexp.MustCompile(`^time=(\S+) level=\S+ msg=("[^"]*"|\S+)`)
)

// phase is one log line of a server's start-up and when it came.
type phase struct {
	msg string
	at  time.Duration // since exec
}

// startupPhases returns the start-up log lines up to the boot listener's,
// each with its time since exec (t0), from the lines' time= attributes
// (millisecond precision).
func startupPhases(log []byte, t0 time.Time) []phase {
	var out []phase
	for _, line := range strings.Split(string(log), "\n") {
		m := timeAttr.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			continue
		}
		out = append(out, phase{msg: strings.Trim(m[2], `"`), at: at.Sub(t0)})
		if listenLine.MatchString(line) {
			break
		}
	}
	return out
}

// start starts provisiond serve on 127.0.0.1:0 and waits until its boot
// listener is up; startup is the time from exec to then. Without
// withCatalog the server serves the catalog stored in its database. The
// server runs with GODEBUG=gctrace=1 (the garbage collector's share, see
// gctrace.go) and under the memory watchdog (--max-rss, --min-available).
// The returned server is non-nil whenever it was started, also with an
// error, so that the caller can ask it whether the watchdog stopped it.
func start(ctx context.Context, cfg config, w *workDir, logName string, withCatalog bool) (*spawned, error) {
	admin := ""
	if cfg.Admin {
		admin = "127.0.0.1:0"
	}
	args := []string{w.bin, "serve", "--addr", "127.0.0.1:0", "--admin-addr", admin,
		"--data-dir", w.data, "--log-level", cfg.LogLevel}
	if withCatalog {
		args = append(args, "--catalog", w.catalog)
	} else {
		args = append(args, "--assets-dir", filepath.Join(w.catalog, "assets"))
	}
	s, err := launch(cfg, filepath.Join(w.dir, logName), pinned(cfg.ServerCPU, args...))
	if err != nil {
		return nil, err
	}
	// Loading a catalog takes about 5 s per 100,000 machines on one busy
	// core; a million must not be cut short.
	bound := 2*time.Minute + time.Duration(cfg.N)*300*time.Microsecond
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	for {
		data, _ := os.ReadFile(s.log)
		if m := listenLine.FindSubmatch(data); m != nil {
			s.startup = time.Since(s.t0)
			s.startupCPU = s.cpuTime()
			s.statUp = readCPUTimes(s.cpus)
			s.base = "http://" + string(m[1])
			if m := loadedLine.FindSubmatch(data); m != nil {
				s.load = string(m[1])
			}
			s.phases = startupPhases(data, s.t0)
			if servingStored.Match(data) {
				// Measure only once the directory is served: the steady
				// state after this start must not run beside the load.
				if err := s.waitDirLoaded(ctx, deadline.C); err != nil {
					return s, err
				}
			}
			return s, checkLoopback(s.base)
		}
		select {
		case err := <-s.done:
			if b := s.bound.Load(); b != nil {
				return s, b
			}
			return s, fmt.Errorf("provisiond exited before listening (%v): %s", err, lastLines(data, 10))
		case <-deadline.C:
			s.kill()
			return s, fmt.Errorf("provisiond not listening after %s: %s", bound.Round(time.Second), lastLines(data, 10))
		case <-ctx.Done():
			s.kill()
			return s, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// waitDirLoaded waits for the "catalog directory loaded" line of a load
// in the background and records when it came and the load's duration.
func (s *spawned) waitDirLoaded(ctx context.Context, deadline <-chan time.Time) error {
	for {
		data, _ := os.ReadFile(s.log)
		if dirLoaded.Match(data) {
			s.dirServed = time.Since(s.t0)
			if m := loadedLine.FindSubmatch(data); m != nil {
				s.load = string(m[1])
			}
			return nil
		}
		select {
		case err := <-s.done:
			if b := s.bound.Load(); b != nil {
				return b
			}
			return fmt.Errorf("provisiond exited while --catalog loaded in the background (%v): %s", err, lastLines(data, 10))
		case <-deadline:
			s.kill()
			return fmt.Errorf("--catalog not loaded in the background in time: %s", lastLines(data, 10))
		case <-ctx.Done():
			s.kill()
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// launch starts argv with its output to logPath, GODEBUG=gctrace=1 added
// to its environment, and the memory watchdog.
func launch(cfg config, logPath string, argv []string) (*spawned, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = withGCTrace(os.Environ())
	s := &spawned{cmd: cmd, log: logPath, done: make(chan error, 1), exited: make(chan struct{})}
	s.cpus = parseCPUList(cfg.ServerCPU)
	s.stat0 = readCPUTimes(s.cpus)
	s.t0 = time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() {
		err := cmd.Wait()
		logf.Close()
		close(s.exited)
		s.done <- err
	}()
	go s.watch(cfg.MaxRSSMiB, cfg.MinAvailableMiB)
	return s, nil
}

// withGCTrace returns env with gctrace=1 added to GODEBUG.
func withGCTrace(env []string) []string {
	out := make([]string, 0, len(env)+1)
	godebug := "gctrace=1"
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "GODEBUG="); ok {
			if v != "" {
				godebug = v + ",gctrace=1"
			}
			continue
		}
		out = append(out, e)
	}
	return append(out, "GODEBUG="+godebug)
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// kill stops the server with SIGKILL: no flush, no graceful shutdown.
func (s *spawned) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// stop stops the server with SIGTERM, as an operator would.
func (s *spawned) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		s.kill()
	}
}

// peakRSS returns the server's peak resident memory (VmHWM) in MiB.
func (s *spawned) peakRSS() float64 { return s.status("VmHWM:") }

// rss returns the server's resident memory now (VmRSS) in MiB.
func (s *spawned) rss() float64 { return s.status("VmRSS:") }

func (s *spawned) status(field string) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuTime returns the CPU time (user and system) the server has used, from
// /proc/PID/stat (clock ticks of 1/100 s, as on every Linux we run on).
func (s *spawned) cpuTime() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// sampleRSS samples the server's resident memory every 50 ms until stop
// is closed, and returns the largest sample.
func (s *spawned) sampleRSS(stop <-chan struct{}) <-chan float64 {
	out := make(chan float64, 1)
	go func() {
		var peak float64
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, s.rss())
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// runSpawned is one whole run on a server of our own: generate the
// catalog, start, storm, SIGKILL, restart and check every address, steady
// state, assets.
func runSpawned(ctx context.Context, cfg config, stderr io.Writer) (*result, error) {
	w, err := prepare(ctx, cfg, stderr)
	if w != nil {
		defer w.remove(cfg.Keep, stderr)
	}
	if err != nil {
		return nil, err
	}
	return runOn(ctx, cfg, w, stderr)
}

// runOn is runSpawned on a prepared directory. When the memory watchdog
// stops a server, the result says so (Stopped) and the error is the
// *boundStop.
func runOn(ctx context.Context, cfg config, w *workDir, stderr io.Writer) (r *result, err error) {
	r = &result{Server: "provisiond", N: cfg.N, Shape: cfg.Shape, GCStartup: -1, GCStoreStartup: -1, GCAgainStartup: -1, GCStorm: -1, GCSteady: -1, StealStartup: -1, StealStorm: -1, StealSteady: -1}
	var srv *spawned
	defer func() {
		if srv == nil {
			return
		}
		if b := srv.bound.Load(); b != nil {
			r.Stopped = b.Error()
			err = b
		}
	}()
	srv, err = start(ctx, cfg, w, "provisiond.log", true)
	if err != nil {
		return r, err
	}
	r.StartupSeconds, r.CatalogLoad, r.Phases = srv.startup.Seconds(), srv.load, srv.phases
	r.StartupCPU[0] = srv.startupCPU.Seconds()
	r.GCStartup, r.StealStartup = srv.gcShareIn(srv.startupWindow()), srv.stealIn(srv.startupWindow())
	fmt.Fprintf(stderr, "bootstorm: provisiond listening on %s after %s; storming %d machines\n", srv.base, srv.startup.Round(time.Millisecond), min(cfg.Machines, cfg.N))
	// provisiond returns the start-up load's memory to the OS in a full
	// collection it starts once it listens (0.15 s of CPU at 100,000
	// machines); the resident memory after start-up is taken once that is
	// done, a second after listening, before the storm.
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
		return r, ctx.Err()
	}
	r.IdleRSSMiB = srv.rss()
	stopRSS := make(chan struct{})
	stormRSS := srv.sampleRSS(stopRSS)
	win := srv.begin()
	r.Storm, err = runStorm(ctx, srv.base, cfg.Shape, min(cfg.Machines, cfg.N), cfg.Concurrency)
	win = srv.end(win)
	if r.Storm != nil && r.Storm.Elapsed > 0 {
		r.Storm.ServerCPU = float64(win.cpuTo-win.cpuFrom) / float64(r.Storm.Elapsed)
	}
	r.GCStorm, r.StealStorm = srv.gcShareIn(win), srv.stealIn(win)
	close(stopRSS)
	r.StormRSSMiB = <-stormRSS
	r.PeakRSSMiB = srv.peakRSS()
	if err != nil {
		srv.stop()
		return r, err
	}
	// Every answered lease must survive a crash: SIGKILL, restart on the
	// same database from the stored catalog (no --catalog: the second
	// start-up path), and ask every machine again.
	srv.kill()
	srv, err = start(ctx, cfg, w, "provisiond-restarted.log", false)
	if err != nil {
		return r, fmt.Errorf("restart after SIGKILL: %w", err)
	}
	r.StoreStartupSeconds, r.StorePhases, r.StorePeakRSSMiB = srv.startup.Seconds(), srv.phases, srv.peakRSS()
	r.StartupCPU[1] = srv.startupCPU.Seconds()
	r.GCStoreStartup = srv.gcShareIn(srv.startupWindow())
	r.Durable, r.DurableChecked, err = checkDurable(ctx, srv.base, r.Storm, min(64, cfg.Concurrency))
	if err != nil {
		srv.stop()
		return r, fmt.Errorf("after restart: %w", err)
	}
	// The third start-up: --catalog again on a database that already
	// holds it (an operator's restart or upgrade).
	srv.stop()
	srv, err = start(ctx, cfg, w, "provisiond-again.log", true)
	if err != nil {
		return r, fmt.Errorf("restart with --catalog: %w", err)
	}
	defer srv.stop()
	r.AgainStartupSeconds, r.AgainLoad, r.AgainPhases, r.AgainPeakRSSMiB = srv.startup.Seconds(), srv.load, srv.phases, srv.peakRSS()
	r.StartupCPU[2] = srv.startupCPU.Seconds()
	r.AgainDirServedSeconds = srv.dirServed.Seconds()
	r.GCAgainStartup = srv.gcShareIn(srv.startupWindow())
	if cfg.SteadyDur > 0 {
		fmt.Fprintf(stderr, "bootstorm: steady state, %d connections, %s per endpoint\n", cfg.SteadyConns, cfg.SteadyDur)
		win := srv.begin()
		r.Steady, r.SteadyNote, err = runSteady(ctx, srv.base, cfg, nil)
		win = srv.end(win)
		r.GCSteady, r.StealSteady = srv.gcShareIn(win), srv.stealIn(win)
		if err != nil {
			return r, err
		}
	}
	if cfg.Assets {
		if r.Assets, err = compareAssets(ctx, cfg, w, srv.base, stderr); err != nil {
			return r, err
		}
	}
	// PeakRSSMiB stays the first server's (its start-up with --catalog on
	// a new database, and the storm): the third server's peak over its
	// whole life, the steady state included, is AgainPeakRSSMiB's. The
	// table's peak column takes the largest of the three servers'.
	r.AgainPeakRSSMiB = max(r.AgainPeakRSSMiB, srv.peakRSS())
	return r, nil
}

// compareAssets downloads the big asset whole, over and over, from
// provisiond and from nginx serving the same directory with sendfile.
func compareAssets(ctx context.Context, cfg config, w *workDir, base string, stderr io.Writer) ([]summary, error) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		fmt.Fprintln(stderr, "bootstorm: --assets needs wrk; skipped")
		return nil, nil
	}
	size := float64(int64(cfg.AssetMiB) << 20)
	d := max(cfg.SteadyDur, 5*time.Second)
	conns := 4
	measure := func(name, base, path string) (summary, error) {
		s, err := runWrk(ctx, wrk, base, steadyTarget{name, []string{path}}, conns, d)
		s.BytesPerSecond = s.PerSecond * size
		return s, err
	}
	mine, err := measure(fmt.Sprintf("provisiond /assets/big.img (%d MiB)", cfg.AssetMiB), base, "/assets/big.img")
	if err != nil {
		return nil, err
	}
	out := []summary{mine}
	ngx, err := startNginx(ctx, cfg, w)
	if err != nil {
		fmt.Fprintf(stderr, "bootstorm: nginx: %v; compared with nothing\n", err)
		return out, nil
	}
	defer ngx.stop()
	theirs, err := measure(fmt.Sprintf("nginx /big.img (%d MiB)", cfg.AssetMiB), ngx.base, "/big.img")
	if err != nil {
		return out, err
	}
	return append(out, theirs), nil
}

// startNginx runs nginx on 127.0.0.1, on a free port, with a minimal
// configuration of our own in the run's directory (never the system's),
// serving the catalog's assets with sendfile, pinned like provisiond.
func startNginx(ctx context.Context, cfg config, w *workDir) (*spawned, error) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			return nil, err
		}
		bin = "/usr/sbin/nginx"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	prefix := filepath.Join(w.dir, "nginx")
	if err := os.MkdirAll(prefix, 0o755); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`worker_processes 1;
daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  default_type application/octet-stream;
  server {
    listen %[2]s;
    root %[3]s;
    location / { }
  }
}
`, prefix, addr, filepath.Join(w.catalog, "assets"))
	confPath := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	argv := pinned(cfg.ServerCPU, bin, "-p", prefix, "-e", filepath.Join(prefix, "error.log"), "-c", confPath)
	cmd := exec.Command(argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &spawned{cmd: cmd, base: "http://" + addr, done: make(chan error, 1), exited: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		close(s.exited)
		s.done <- err
	}()
	for range 200 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return s, nil
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("nginx exited (%v): %s", err, out.String())
		case <-ctx.Done():
			s.kill()
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	s.kill()
	return nil, errors.New("nginx not listening after 2s")
}
