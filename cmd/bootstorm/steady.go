package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/provisiond/provisiond/internal/catalogen"
)

// steadyTarget is one row of the steady-state table: an endpoint and the
// requests that exercise it, cycled through by every connection.
type steadyTarget struct {
	name  string
	paths []string
}

// steadyTargets asks for known machines (the first up to 1,000 of the
// catalog, which the storm leased): /ipxe and /metadata for all of them,
// /ignition for the Butane ones (cached renderings) and the raw Ignition
// ones.
func steadyTargets(shape catalogen.Shape, n int) []steadyTarget {
	known := min(n, 1000)
	var ipxe, butane, raw, md []string
	for i := range known {
		mac := hexhyp(catalogen.MAC(i))
		ipxe = append(ipxe, "/ipxe?uuid=&mac="+mac+"&domain=&hostname=&serial=&arch=x86_64")
		md = append(md, "/metadata?mac="+mac)
		switch shape.Kind(i) {
		case catalogen.Butane:
			butane = append(butane, "/ignition?mac="+mac)
		case catalogen.Ignition:
			raw = append(raw, "/ignition?mac="+mac)
		}
	}
	ts := []steadyTarget{{"/boot.ipxe", []string{"/boot.ipxe"}}, {"/ipxe", ipxe}}
	if len(butane) > 0 {
		ts = append(ts, steadyTarget{"/ignition (Butane)", butane})
	}
	if len(raw) > 0 {
		ts = append(ts, steadyTarget{"/ignition (raw)", raw})
	}
	return append(ts, steadyTarget{"/metadata", md})
}

// runSteady measures each target with cfg.SteadyConns keep-alive
// connections, with wrk when it is installed (it costs less CPU per
// request than any Go client, so the load side is not the limit; the
// latencies come from probeLatency, run after it), else with Go's
// client. The time is split into cfg.Rounds rounds, each over
// every target in turn, and each target reports its median round (by
// requests per second; max is the largest of all rounds): a background
// job that starts in the middle of the measurement then slows every
// endpoint alike instead of the last ones. Each target also reports
// VsBoot, its requests per second against /boot.ipxe's: the median over
// the rounds of its window's ratio (vsBoot). With cfg.Paired a /boot.ipxe
// window comes before each target's and one more after the last, and a
// window is taken against the mean of the /boot.ipxe windows on either
// side of it, seconds away (on a shared machine the speed of the core
// drifts by 5-10 % from one window to the next; see docs/performance.md,
// "Steady state, eighth pass" and "tenth pass"); without it, against the
// /boot.ipxe window of the round.
func runSteady(ctx context.Context, base string, cfg config, extra []steadyTarget) ([]summary, string, error) {
	targets := append(steadyTargets(cfg.Shape, cfg.N), extra...)
	for _, t := range targets {
		// Warm up: the first request of each path may create a lease or
		// fill the render cache; the table is about the steady state.
		c := newClient(4)
		for _, p := range t.paths {
			if _, err := get(ctx, c, base, p, nil, http.StatusOK); err != nil {
				return nil, "", fmt.Errorf("warming %s: %w", t.name, err)
			}
		}
		c.CloseIdleConnections()
	}
	rounds := max(1, cfg.Rounds)
	d := max(minWindow, cfg.SteadyDur/time.Duration(rounds))
	wrk, werr := exec.LookPath("wrk")
	run := func(t steadyTarget) (summary, error) {
		if werr == nil {
			return runWrk(ctx, wrk, base, t, cfg.SteadyConns, d)
		}
		return runGoLoad(ctx, base, t, cfg.SteadyConns, d)
	}
	// Steal is read over the server's CPUs and the load's (all of them
	// when either is not pinned).
	var cpus []int
	if sc, lc := parseCPUList(cfg.ServerCPU), parseCPUList(cfg.LoadCPU); sc != nil && lc != nil {
		cpus = append(sc, lc...)
	}
	runs := make([][]summary, len(targets))
	var seq []measured // every window kept, in the order run
	var st stealCount
	// attempt measures the targets of is in turn (a /boot.ipxe window
	// and the endpoint's, or one of them) and keeps them, unless the
	// hypervisor stole more than cfg.MaxSteal of the CPUs' time in any of
	// them and retries remain: then they are measured again, at most
	// cfg.StealRetries times.
	attempt := func(is ...int) error {
		for try := 0; ; try++ {
			var got []summary
			stolen := false
			for _, i := range is {
				before := cpuTimesNow(cpus)
				s, err := run(targets[i])
				if err != nil {
					return err
				}
				if share := stealShare(before, cpuTimesNow(cpus)); cfg.MaxSteal > 0 && share > cfg.MaxSteal {
					stolen = true
					st.over++
				}
				st.windows++
				got = append(got, s)
			}
			if stolen && try < cfg.StealRetries {
				st.again++
				continue
			}
			if stolen {
				st.kept++
			}
			for k, i := range is {
				runs[i] = append(runs[i], got[k])
				seq = append(seq, measured{i, got[k].PerSecond})
			}
			return nil
		}
	}
	boot := targets[0].name == "/boot.ipxe"
	for range rounds {
		for i := range targets {
			var err error
			if cfg.Paired && i > 0 && boot {
				err = attempt(0, i)
			} else {
				err = attempt(i)
			}
			if err != nil {
				return nil, "", err
			}
		}
	}
	if cfg.Paired && boot && len(targets) > 1 {
		// The /boot.ipxe window after the last endpoint's.
		if err := attempt(0); err != nil {
			return nil, "", err
		}
	}
	out := make([]summary, len(targets))
	var ratios [][]float64
	if boot {
		ratios = vsBoot(seq, len(targets), cfg.Paired)
	}
	for i, rs := range runs {
		out[i] = medianRound(rs)
		if i < len(ratios) && len(ratios[i]) > 0 {
			out[i].VsBoot = median(ratios[i])
		}
	}
	return out, st.note(cfg.MaxSteal), nil
}

// stealCount counts the steady state's windows: all those measured, those
// in which the hypervisor stole more than the bound, the attempts
// measured again for it, and those kept with it (no retry left).
type stealCount struct{ windows, over, again, kept int }

// note says what steal did to the steady state ("" when nothing).
func (c stealCount) note(bound float64) string {
	if c.over == 0 {
		return ""
	}
	s := fmt.Sprintf("steady state: %d of %d windows had over %.0f%% of the CPUs' time stolen; %d measured again", c.over, c.windows, 100*bound, c.again)
	if c.kept > 0 {
		s += fmt.Sprintf(", %d kept with it (no retry left)", c.kept)
	}
	return s
}

// measured is one measured window: the target (0 is /boot.ipxe) and its
// requests a second.
type measured struct {
	target    int
	perSecond float64
}

// vsBoot returns, per target, its windows' ratios to /boot.ipxe (target
// 0) in the order run. Without paired, a window is taken against the
// /boot.ipxe window before it. With paired, against the mean of the
// /boot.ipxe windows just before and just after it (the one before only
// when none follows): when the speed of the core drifts steadily across
// the three windows, the mean of the two is what /boot.ipxe did at the
// endpoint's time, and the drift cancels out of the ratio instead of
// landing in it (docs/performance.md, "Steady state, tenth pass").
func vsBoot(seq []measured, targets int, paired bool) [][]float64 {
	ratios := make([][]float64, targets)
	var before float64 // the last /boot.ipxe window's requests a second
	var waiting []measured
	settle := func(after float64) {
		for _, w := range waiting {
			ref := before
			if after > 0 {
				ref = (before + after) / 2
			}
			if ref > 0 {
				ratios[w.target] = append(ratios[w.target], w.perSecond/ref)
			}
		}
		waiting = waiting[:0]
	}
	for _, w := range seq {
		if w.target != 0 {
			if paired {
				waiting = append(waiting, w)
			} else if before > 0 {
				ratios[w.target] = append(ratios[w.target], w.perSecond/before)
			}
			continue
		}
		if w.perSecond > 0 {
			settle(w.perSecond)
			before = w.perSecond
		}
	}
	settle(0)
	return ratios
}

// minWindow is the shortest steady-state window (wrk counts whole
// seconds; tests without wrk shorten it).
var minWindow = time.Second

// median returns the median of xs (the mean of the middle two of an even
// number).
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// medianRound returns the round with the median requests per second, with
// the requests and errors of all rounds and the largest max.
func medianRound(rs []summary) summary {
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b summary) int { return cmp.Compare(a.PerSecond, b.PerSecond) })
	m := sorted[len(sorted)/2]
	m.Requests, m.Errors = 0, 0
	for _, r := range rs {
		m.Requests += r.Requests
		m.Errors += r.Errors
		m.Max = max(m.Max, r.Max)
		if m.FirstErr == "" {
			m.FirstErr = r.FirstErr
		}
	}
	return m
}

// runGoLoad is the closed-loop fallback when wrk is missing.
func runGoLoad(ctx context.Context, base string, t steadyTarget, conns int, d time.Duration) (summary, error) {
	client := newClient(conns)
	defer client.CloseIdleConnections()
	st := &endpointStats{}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ctx.Err() == nil; i++ {
				t0 := time.Now()
				_, err := get(ctx, client, base, t.paths[i%len(t.paths)], nil, http.StatusOK)
				if ctx.Err() != nil {
					return
				}
				st.add(time.Since(t0), err)
			}
		}()
	}
	wg.Wait()
	return st.summary(t.name, time.Since(start)), nil
}

// runWrk runs wrk with a script that cycles through the target's paths.
func runWrk(ctx context.Context, wrk, base string, t steadyTarget, conns int, d time.Duration) (summary, error) {
	dir, err := os.MkdirTemp("", "bootstorm-wrk-")
	if err != nil {
		return summary{}, err
	}
	defer os.RemoveAll(dir)
	var lua strings.Builder
	lua.WriteString("local paths = {\n")
	for _, p := range t.paths {
		lua.WriteString("  " + strconv.Quote(p) + ",\n")
	}
	lua.WriteString("}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  if i > #paths then i = 1 end\n  return wrk.format(\"GET\", paths[i])\nend\n")
	script := filepath.Join(dir, "paths.lua")
	if err := os.WriteFile(script, []byte(lua.String()), 0o644); err != nil {
		return summary{}, err
	}
	secs := max(1, int(d.Round(time.Second).Seconds()))
	// --timeout 30s: wrk's default (2 s) would count a slow answer as a
	// socket error and leave it out of the percentiles.
	cmd := exec.CommandContext(ctx, wrk, "-t1", "-c"+strconv.Itoa(conns), "-d"+strconv.Itoa(secs)+"s", "--timeout", "30s", "--latency", "-s", script, base)
	outb, err := cmd.CombinedOutput()
	if err != nil {
		return summary{}, fmt.Errorf("wrk %s: %v: %s", t.name, err, outb)
	}
	s, err := parseWrk(string(outb))
	s.Endpoint = t.name
	if err != nil {
		return s, err
	}
	// wrk's throughput, the probe's latencies (see probeLatency).
	lat, err := probeLatency(ctx, base, t, conns, max(time.Second, d/2))
	if err != nil {
		return s, fmt.Errorf("latency of %s: %w", t.name, err)
	}
	if lat.Requests == lat.Errors {
		return s, fmt.Errorf("latency of %s: no request answered: %s", t.name, lat.FirstErr)
	}
	// The probe's failures count as the endpoint's (its latencies are
	// of answers with 200 only).
	s.Errors += lat.Errors
	if s.FirstErr == "" {
		s.FirstErr = lat.FirstErr
	}
	s.P50, s.P99, s.Max = lat.P50, lat.P99, lat.Max
	return s, nil
}

// probeLatency measures a target's latencies as wrk would: conns
// keep-alive connections in a closed loop for d, cycling through the
// target's paths, each request written raw and its answer read whole,
// timed with the monotonic clock from the write to the last byte. The
// steady state takes its percentiles from here and its requests per
// second from wrk (cheaper per request, so the load side is not the
// limit): on the development machine wrk 4.1.0's latency figures do
// not describe its requests. Its mean latency exceeds connections /
// throughput (with one connection, 142 µs at 16,597 requests a second,
// where each took at most 60 µs), which no closed loop can have, and
// its p99 was 5-15 times the server's own (docs/performance.md,
// "Steady state, fourth pass").
func probeLatency(ctx context.Context, base string, t steadyTarget, conns int, d time.Duration) (summary, error) {
	addr, ok := strings.CutPrefix(base, "http://")
	if !ok || len(t.paths) == 0 {
		return summary{}, fmt.Errorf("cannot probe %s: plain http only", base)
	}
	reqs := make([][]byte, len(t.paths))
	for i, p := range t.paths {
		reqs[i] = []byte("GET " + p + " HTTP/1.1\r\nHost: " + addr + "\r\n\r\n")
	}
	st := &endpointStats{}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
			if err != nil {
				if ctx.Err() == nil {
					st.add(0, err)
				}
				return
			}
			defer c.Close()
			stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
			defer stop()
			br := bufio.NewReader(c)
			for i := w; ctx.Err() == nil; i++ {
				t0 := time.Now()
				err := roundTrip(c, br, reqs[i%len(reqs)])
				if ctx.Err() != nil {
					return // cut by the deadline: not a measurement
				}
				st.add(time.Since(t0), err)
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	return st.summary(t.name, time.Since(start)), nil
}

// roundTrip writes one raw request and reads its answer whole.
func roundTrip(c net.Conn, br *bufio.Reader, req []byte) error {
	if _, err := c.Write(req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return err
}

var (
	wrkLatency  = regexp.MustCompile(`(?m)^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)`)
	wrkPct      = regexp.MustCompile(`(?m)^\s+(50|99)%\s+(\S+)`)
	wrkRequests = regexp.MustCompile(`(?m)^\s+(\d+) requests in`)
	wrkRate     = regexp.MustCompile(`(?m)^Requests/sec:\s+([\d.]+)`)
	wrkTransfer = regexp.MustCompile(`(?m)^Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)`)
	wrkNon2xx   = regexp.MustCompile(`(?m)Non-2xx or 3xx responses: (\d+)`)
	wrkSockErr  = regexp.MustCompile(`(?m)Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads wrk --latency output.
func parseWrk(out string) (summary, error) {
	var s summary
	m := wrkRate.FindStringSubmatch(out)
	if m == nil {
		return s, fmt.Errorf("wrk output without Requests/sec: %s", out)
	}
	s.PerSecond, _ = strconv.ParseFloat(m[1], 64)
	if m := wrkRequests.FindStringSubmatch(out); m != nil {
		s.Requests, _ = strconv.Atoi(m[1])
	}
	if m := wrkLatency.FindStringSubmatch(out); m != nil {
		s.Max = parseWrkDuration(m[3])
	}
	for _, m := range wrkPct.FindAllStringSubmatch(out, -1) {
		if m[1] == "50" {
			s.P50 = parseWrkDuration(m[2])
		} else {
			s.P99 = parseWrkDuration(m[2])
		}
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		s.Errors, _ = strconv.Atoi(m[1])
		s.FirstErr = "non-2xx answers"
	}
	if m := wrkSockErr.FindStringSubmatch(out); m != nil {
		for _, v := range m[1:] {
			n, _ := strconv.Atoi(v)
			s.Errors += n
		}
		if s.FirstErr == "" && s.Errors > 0 {
			s.FirstErr = strings.TrimSpace(m[0])
		}
	}
	if m := wrkTransfer.FindStringSubmatch(out); m != nil {
		v, _ := strconv.ParseFloat(m[1], 64)
		mult := map[string]float64{"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}[m[2]]
		s.BytesPerSecond = v * mult
	}
	return s, nil
}

func parseWrkDuration(s string) time.Duration {
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"m", time.Minute}, {"s", time.Second}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0
			}
			return time.Duration(math.Round(f * float64(u.unit)))
		}
	}
	return 0
}
