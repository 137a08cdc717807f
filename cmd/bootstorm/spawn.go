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
	"syscall"
	"time"

	"github.com/provisiond/provisiond/internal/catalogen"
)

// spawned is a provisiond we started.
type spawned struct {
	cmd     *exec.Cmd
	base    string
	log     string
	startup time.Duration
	load    string // the "catalog loaded" line's duration
	// phases are the times from exec to the start-up's log lines.
	phases []phase
	done   chan error
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
	fmt.Fprintf(stderr, "bootstorm: generated a %s catalog of %d machines in %s (%s)\n", cfg.Shape, cfg.N, w.catalog, time.Since(t).Round(time.Millisecond))
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
	timeAttr   = regexp.MustCompile(`^time=(\S+) level=\S+ msg=("[^"]*"|\S+)`)
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
// withCatalog the server serves the catalog stored in its database.
func start(ctx context.Context, cfg config, w *workDir, logName string, withCatalog bool) (*spawned, error) {
	logPath := filepath.Join(w.dir, logName)
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := []string{w.bin, "serve", "--addr", "127.0.0.1:0", "--admin-addr", "",
		"--data-dir", w.data, "--log-level", cfg.LogLevel}
	if withCatalog {
		args = append(args, "--catalog", w.catalog)
	} else {
		args = append(args, "--assets-dir", filepath.Join(w.catalog, "assets"))
	}
	argv := pinned(cfg.ServerCPU, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	t := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s := &spawned{cmd: cmd, log: logPath, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait(); logf.Close() }()
	deadline := time.NewTimer(2 * time.Minute)
	defer deadline.Stop()
	for {
		data, _ := os.ReadFile(logPath)
		if m := listenLine.FindSubmatch(data); m != nil {
			s.startup = time.Since(t)
			s.base = "http://" + string(m[1])
			if m := loadedLine.FindSubmatch(data); m != nil {
				s.load = string(m[1])
			}
			s.phases = startupPhases(data, t)
			return s, checkLoopback(s.base)
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("provisiond exited before listening (%v): %s", err, lastLines(data, 10))
		case <-deadline.C:
			s.kill()
			return nil, fmt.Errorf("provisiond not listening after 2 minutes: %s", lastLines(data, 10))
		case <-ctx.Done():
			s.kill()
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// kill stops the server with SIGKILL: no flush, no graceful shutdown.
func (s *spawned) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// stop stops the server with SIGTERM, as an operator would.
func (s *spawned) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
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

// runSpawned is one whole run on a server of our own: start, storm,
// SIGKILL, restart and check every address, steady state, assets.
func runSpawned(ctx context.Context, cfg config, stderr io.Writer) (*result, error) {
	w, err := prepare(ctx, cfg, stderr)
	if w != nil {
		defer w.remove(cfg.Keep, stderr)
	}
	if err != nil {
		return nil, err
	}
	srv, err := start(ctx, cfg, w, "provisiond.log", true)
	if err != nil {
		return nil, err
	}
	r := &result{N: cfg.N, Shape: cfg.Shape, StartupSeconds: srv.startup.Seconds(), CatalogLoad: srv.load, Phases: srv.phases}
	fmt.Fprintf(stderr, "bootstorm: provisiond listening on %s after %s; storming %d machines\n", srv.base, srv.startup.Round(time.Millisecond), min(cfg.Machines, cfg.N))
	r.IdleRSSMiB = srv.rss()
	stopRSS := make(chan struct{})
	stormRSS := srv.sampleRSS(stopRSS)
	cpu0 := srv.cpuTime()
	r.Storm, err = runStorm(ctx, srv.base, cfg.Shape, min(cfg.Machines, cfg.N), cfg.Concurrency)
	if r.Storm != nil && r.Storm.Elapsed > 0 {
		r.Storm.ServerCPU = float64(srv.cpuTime()-cpu0) / float64(r.Storm.Elapsed)
	}
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
	if cfg.SteadyDur > 0 {
		fmt.Fprintf(stderr, "bootstorm: steady state, %d connections, %s per endpoint\n", cfg.SteadyConns, cfg.SteadyDur)
		if r.Steady, err = runSteady(ctx, srv.base, cfg, nil); err != nil {
			return r, err
		}
	}
	if cfg.Assets {
		if r.Assets, err = compareAssets(ctx, cfg, w, srv.base, stderr); err != nil {
			return r, err
		}
	}
	r.PeakRSSMiB = max(r.PeakRSSMiB, srv.peakRSS())
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
	s := &spawned{cmd: cmd, base: "http://" + addr, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
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
