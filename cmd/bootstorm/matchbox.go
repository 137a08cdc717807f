package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/provisiond/provisiond/internal/catalogen"
)

// The matchbox comparison (--matchbox BIN) serves the very directory the
// provisiond row of the same size was given (the matchbox shape) with the
// real matchbox, pinned like provisiond, and measures what can be
// compared: start-up (to the first 200 on /boot.ipxe, and to the first
// answer on /ipxe, which is when a machine could boot), the steady state
// per endpoint and a storm of new machines. matchbox has no database and
// no leases, so there is no restart from a store and no durability check;
// the storm's addresses come from each group's metadata.
//
// matchbox reads and decodes every group file on every request that
// selects a group (/ipxe, /ignition, /metadata): at 100,000 groups that
// is seconds per request on one core. Its storm and its steady state are
// therefore bounded by time and by requests (--matchbox-storm,
// --matchbox-duration, --matchbox-requests) and run with a few
// connections, so that the run ends; an endpoint that answers in under
// fastEndpoint is measured exactly as provisiond's (wrk, -c, --duration,
// --rounds).

// fastEndpoint separates endpoints measured with wrk from those measured
// with the bounded client.
const fastEndpoint = 50 * time.Millisecond

// matchboxName returns "matchbox VERSION" from the binary's -version.
func matchboxName(ctx context.Context, bin string) string {
	out, err := exec.CommandContext(ctx, bin, "-version").Output()
	v := strings.TrimSpace(string(out))
	if err != nil || v == "" || strings.Contains(v, " ") {
		return "matchbox"
	}
	return "matchbox " + v
}

// freeAddr returns a loopback address with a port that was free a moment
// ago: matchbox cannot listen on port 0 and tell us which port it got.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startMatchbox starts matchbox on w's catalog and waits for the first
// 200 on /boot.ipxe.
func startMatchbox(ctx context.Context, cfg config, w *workDir) (*spawned, error) {
	var lastErr error
	for range 3 { // the free port may be taken between our check and its listen
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		argv := pinned(cfg.ServerCPU, cfg.Matchbox, "-data-path", w.catalog,
			"-assets-path", filepath.Join(w.catalog, "assets"), "-address", addr, "-log-level", cfg.MatchboxLogLevel)
		s, err := launch(cfg, filepath.Join(w.dir, "matchbox.log"), argv)
		if err != nil {
			return nil, err
		}
		s.base = "http://" + addr
		if err := checkLoopback(s.base); err != nil {
			s.kill()
			return nil, err
		}
		client := newClient(1)
		deadline := time.Now().Add(time.Minute)
		for {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := get(rctx, client, s.base, "/boot.ipxe", nil, http.StatusOK)
			cancel()
			if err == nil {
				s.startup = time.Since(s.t0)
				s.startupCPU = s.cpuTime()
				s.statUp = readCPUTimes(s.cpus)
				client.CloseIdleConnections()
				return s, nil
			}
			lastErr = err
			select {
			case <-s.exited:
				data, _ := os.ReadFile(s.log)
				if b := s.bound.Load(); b != nil {
					return s, b
				}
				lastErr = fmt.Errorf("matchbox exited before answering: %s", lastLines(data, 10))
			case <-ctx.Done():
				s.kill()
				return s, ctx.Err()
			case <-time.After(5 * time.Millisecond):
				if time.Now().Before(deadline) {
					continue
				}
				s.kill()
				return s, fmt.Errorf("matchbox not answering /boot.ipxe after a minute: %v", err)
			}
			break
		}
	}
	return nil, lastErr
}

// runMatchbox runs the comparison on a prepared matchbox-shape directory.
func runMatchbox(ctx context.Context, cfg config, w *workDir, stderr io.Writer) (r *result, err error) {
	r = &result{Server: matchboxName(ctx, cfg.Matchbox), N: cfg.N, Shape: catalogen.Matchbox, GCStartup: -1, GCStoreStartup: -1, GCAgainStartup: -1, GCStorm: -1, GCSteady: -1, StealStartup: -1, StealStorm: -1, StealSteady: -1}
	fmt.Fprintf(stderr, "bootstorm: === %s, N = %d, the same directory ===\n", r.Server, cfg.N)
	srv, err := startMatchbox(ctx, cfg, w)
	if srv != nil {
		defer func() {
			if b := srv.bound.Load(); b != nil {
				r.Stopped = b.Error()
				err = b
			}
			srv.stop()
		}()
	}
	if err != nil {
		return r, err
	}
	r.StartupSeconds = srv.startup.Seconds()
	r.GCStartup, r.StealStartup = srv.gcShareIn(srv.startupWindow()), srv.stealIn(srv.startupWindow())
	r.IdleRSSMiB = srv.rss()
	// The first /ipxe is when a machine could first boot.
	c := newClientTimeout(1, nil, cfg.MatchboxTimeout, nil)
	_, err = get(ctx, c, srv.base, steadyTargets(catalogen.Matchbox, cfg.N)[1].paths[0], nil, http.StatusOK)
	c.CloseIdleConnections()
	if err != nil {
		return r, fmt.Errorf("matchbox: first /ipxe: %w", err)
	}
	r.FirstIPXESeconds = time.Since(srv.t0).Seconds()
	fmt.Fprintf(stderr, "bootstorm: matchbox on %s: /boot.ipxe after %s, first /ipxe after %.2f s; storming %d machines, %d at a time, for at most %s\n",
		srv.base, srv.startup.Round(time.Millisecond), r.FirstIPXESeconds, min(cfg.Machines, cfg.N), cfg.MatchboxConcurrency, cfg.MatchboxStorm)

	stopRSS := make(chan struct{})
	stormRSS := srv.sampleRSS(stopRSS)
	win := srv.begin()
	r.Storm, err = runStormBounded(ctx, srv.base, catalogen.Matchbox, min(cfg.Machines, cfg.N), cfg.MatchboxConcurrency,
		stormBounds{StopAt: time.Now().Add(cfg.MatchboxStorm), Timeout: cfg.MatchboxTimeout})
	win = srv.end(win)
	close(stopRSS)
	r.StormRSSMiB = <-stormRSS
	if r.Storm != nil && r.Storm.Elapsed > 0 {
		r.Storm.ServerCPU = float64(win.cpuTo-win.cpuFrom) / float64(r.Storm.Elapsed)
	}
	r.GCStorm, r.StealStorm = srv.gcShareIn(win), srv.stealIn(win)
	if err != nil {
		return r, err
	}
	if cfg.SteadyDur > 0 {
		win := srv.begin()
		r.Steady, r.SteadyNote, err = runSteadyMatchbox(ctx, srv.base, cfg, stderr)
		win = srv.end(win)
		r.GCSteady, r.StealSteady = srv.gcShareIn(win), srv.stealIn(win)
		if err != nil {
			return r, err
		}
	}
	r.PeakRSSMiB = srv.peakRSS()
	return r, nil
}

// runSteadyMatchbox measures each endpoint. /boot.ipxe reads no group
// and is measured with wrk like provisiond's. The endpoints that select a
// group are too, when one request to each takes under fastEndpoint;
// otherwise all of them with runBounded, and the note says so.
func runSteadyMatchbox(ctx context.Context, base string, cfg config, stderr io.Writer) ([]summary, string, error) {
	wrk, werr := exec.LookPath("wrk")
	rounds := max(1, cfg.Rounds)
	d := max(time.Second, cfg.SteadyDur/time.Duration(rounds))
	targets := steadyTargets(catalogen.Matchbox, cfg.N)
	var slowest time.Duration
	for _, t := range targets {
		c := newClientTimeout(1, nil, cfg.MatchboxTimeout, nil)
		t0 := time.Now()
		_, err := get(ctx, c, base, t.paths[0], nil, http.StatusOK)
		c.CloseIdleConnections()
		if err != nil {
			return nil, "", fmt.Errorf("matchbox: warming %s: %w", t.name, err)
		}
		if t.name != "/boot.ipxe" {
			slowest = max(slowest, time.Since(t0))
		}
	}
	bound := slowest >= fastEndpoint || werr != nil
	if bound {
		fmt.Fprintf(stderr, "bootstorm: matchbox: one request took up to %s: at most %d requests or %s per endpoint, %d connections\n",
			slowest.Round(time.Millisecond), cfg.MatchboxRequests, cfg.MatchboxDuration, cfg.MatchboxConns)
	}
	var out []summary
	var bounded []string
	for _, t := range targets {
		if t.name == "/boot.ipxe" && werr == nil || !bound {
			var rs []summary
			for range rounds {
				s, err := runWrk(ctx, wrk, base, t, cfg.SteadyConns, d)
				if err != nil {
					return out, "", err
				}
				rs = append(rs, s)
			}
			out = append(out, medianRound(rs))
			continue
		}
		s, err := runBounded(ctx, base, t, cfg.MatchboxConns, cfg.MatchboxDuration, cfg.MatchboxRequests, cfg.MatchboxTimeout)
		if err != nil {
			return out, "", err
		}
		out = append(out, s)
		bounded = append(bounded, fmt.Sprintf("%s %d in %.0f s", t.name, s.Requests, s.Elapsed.Seconds()))
	}
	note := ""
	if len(bounded) > 0 {
		note = fmt.Sprintf("one request took up to %.2f s, so %d connections, at most %d requests or %s per endpoint: %s",
			slowest.Seconds(), cfg.MatchboxConns, cfg.MatchboxRequests, cfg.MatchboxDuration, strings.Join(bounded, ", "))
	}
	return out, note, nil
}

// runBounded measures a slow endpoint: conns connections, each sending
// its next request until d has passed or maxReq requests have been sent;
// requests in flight at d finish (each within timeout) and count. The
// rate is the answers over the time until the last one.
func runBounded(ctx context.Context, base string, t steadyTarget, conns int, d time.Duration, maxReq int, timeout time.Duration) (summary, error) {
	client := newClientTimeout(conns, nil, timeout, nil)
	defer client.CloseIdleConnections()
	st := &endpointStats{}
	var sent atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Since(start) < d {
				i := int(sent.Add(1) - 1)
				if i >= maxReq {
					return
				}
				t0 := time.Now()
				_, err := get(ctx, client, base, t.paths[i%len(t.paths)], nil, http.StatusOK)
				st.add(time.Since(t0), err)
			}
		}()
	}
	wg.Wait()
	s := st.summary(t.name, time.Since(start))
	s.Elapsed = time.Since(start)
	return s, ctx.Err()
}
