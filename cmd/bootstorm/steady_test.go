package main

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provisiond/provisiond/internal/catalogen"
)

// TestProbeLatency: the probe's latencies are those of the requests
// (each at least the handler's 5 ms), its throughput cannot exceed what
// its connections allow one at a time, and a failing answer is an
// error, not a latency.
func TestProbeLatency(t *testing.T) {
	base := serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			time.Sleep(5 * time.Millisecond)
		case "/missing":
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("ok"))
	}))
	s, err := probeLatency(t.Context(), base, steadyTarget{"/slow", []string{"/slow", "/slow?x=1"}}, 2, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if s.Endpoint != "/slow" || s.Requests < 10 || s.Errors != 0 || s.P50 < 5*time.Millisecond || s.P99 < s.P50 || s.Max < s.P99 {
		t.Errorf("probe of a 5 ms endpoint: %+v", s)
	}
	if limit := 2 / (5 * time.Millisecond).Seconds(); s.PerSecond > limit {
		t.Errorf("probe: %.0f requests a second over 2 connections of 5 ms requests, at most %.0f possible", s.PerSecond, limit)
	}
	s, err = probeLatency(t.Context(), base, steadyTarget{"/missing", []string{"/missing"}}, 2, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if s.Errors == 0 || s.FirstErr != "status 404" {
		t.Errorf("probe of a 404: %+v, want errors", s)
	}
	if _, err := probeLatency(t.Context(), "https://127.0.0.1:1", steadyTarget{"/x", []string{"/x"}}, 1, time.Second); err == nil {
		t.Error("probe of https: no error")
	}
}

// TestRunSteadyPaired: with --paired a /boot.ipxe window comes before
// every other endpoint's, and each endpoint's VsBoot is its window
// against that one; without, one /boot.ipxe window a round. The other
// endpoints here take a millisecond a request and /boot.ipxe nothing, so
// every ratio is well under 1.
func TestRunSteadyPaired(t *testing.T) {
	var mu sync.Mutex
	var windows []bool // per change of kind: a /boot.ipxe window or not
	base := serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		boot := r.URL.Path == "/boot.ipxe"
		mu.Lock()
		if n := len(windows); n == 0 || windows[n-1] != boot {
			windows = append(windows, boot)
		}
		mu.Unlock()
		if !boot {
			time.Sleep(time.Millisecond)
		}
		w.Write([]byte("ok"))
	}))
	for _, paired := range []bool{true, false} {
		mu.Lock()
		windows = nil
		mu.Unlock()
		cfg := config{Shape: catalogen.Pooled, N: 4, Rounds: 1, SteadyDur: time.Second, SteadyConns: 2, Paired: paired}
		out, _, err := runSteady(t.Context(), base, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		targets := steadyTargets(cfg.Shape, cfg.N)
		if len(out) != len(targets) || len(targets) < 3 {
			t.Fatalf("%d summaries of %d targets", len(out), len(targets))
		}
		for i, s := range out {
			if i == 0 {
				continue
			}
			if s.VsBoot <= 0 || s.VsBoot >= 0.9 {
				t.Errorf("paired %v: %s: VsBoot %.2f, want in (0, 0.9): %+v", paired, s.Endpoint, s.VsBoot, s)
			}
		}
		// The warm-up asks each target's paths once, in order: a
		// /boot.ipxe window then one of the others, then the rounds.
		mu.Lock()
		boots := 0
		for _, b := range windows {
			if b {
				boots++
			}
		}
		mu.Unlock()
		want := 1 + 1 // warm-up, the round's
		if paired {
			// warm-up, one before each endpoint's (the first after the
			// round's own), one after the last
			want = 1 + len(targets) - 1 + 1
		}
		if boots != want {
			t.Errorf("paired %v: %d /boot.ipxe windows, want %d (%v)", paired, boots, want, windows)
		}
	}
}

// TestRunSteadySteal: a window in which the hypervisor stole more than
// --max-steal is measured again with the /boot.ipxe window of its pair,
// at most --steal-retries times, then kept; the note counts them. The
// CPUs' counters are made up: 50 of 100 ticks stolen in the windows
// chosen, none in the others.
func TestRunSteadySteal(t *testing.T) {
	base := serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	saved, savedMin := cpuTimesNow, minWindow
	t.Cleanup(func() { cpuTimesNow, minWindow = saved, savedMin })
	// Windows of 250 ms, Go's client (no wrk on PATH): the windows are
	// what is counted here, not their figures.
	minWindow = 250 * time.Millisecond
	t.Setenv("PATH", t.TempDir())
	cfg := config{Shape: catalogen.Pooled, N: 4, Rounds: 1, SteadyDur: 250 * time.Millisecond, SteadyConns: 2, Paired: true, MaxSteal: 0.05}
	targets := len(steadyTargets(cfg.Shape, cfg.N))
	clean := 1 + 2*(targets-1) + 1 // the round's, a pair per endpoint, the last
	for _, tc := range []struct {
		retries int
		stolen  map[int]bool // windows (in the order measured) with steal
		windows int
		note    string
	}{
		// The round's /boot.ipxe window, again; the first pair's
		// /boot.ipxe window, the pair again.
		{2, map[int]bool{0: true, 2: true}, clean + 3, fmt.Sprintf("2 of %d windows had over 5%% of the CPUs' time stolen; 2 measured again", clean+3)},
		// No retry: kept, and said so.
		{0, map[int]bool{0: true}, clean, fmt.Sprintf("1 of %d windows had over 5%% of the CPUs' time stolen; 0 measured again, 1 kept with it (no retry left)", clean)},
		// Every try stolen: two retries, then kept.
		{2, map[int]bool{0: true, 1: true, 2: true}, clean + 2, "3 of"},
		{2, nil, clean, ""},
	} {
		var calls int
		var total, steal uint64
		cpuTimesNow = func([]int) cpuTimes {
			calls++
			total += 100
			if calls%2 == 0 && tc.stolen[(calls-1)/2] {
				steal += 50
			}
			return cpuTimes{total: total, steal: steal, ok: true}
		}
		cfg.StealRetries = tc.retries
		out, note, err := runSteady(t.Context(), base, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != targets {
			t.Fatalf("%d summaries of %d targets", len(out), targets)
		}
		if calls != 2*tc.windows {
			t.Errorf("%v: %d windows measured, want %d", tc.stolen, calls/2, tc.windows)
		}
		if tc.note == "" && note != "" || !strings.Contains(note, tc.note) {
			t.Errorf("%v: note %q, want %q", tc.stolen, note, tc.note)
		}
		for _, s := range out[1:] {
			if s.VsBoot <= 0 {
				t.Errorf("%v: %s has no ratio to /boot.ipxe", tc.stolen, s.Endpoint)
			}
		}
	}
}

// TestVsBoot checks the ratios of windows to /boot.ipxe on a core whose
// speed falls steadily: /boot.ipxe answers 100, then 90 and 80 a second
// at the times of the windows that follow, and every endpoint runs at
// 0.9 of what /boot.ipxe runs at the same time. Paired, each endpoint is
// taken against the mean of the /boot.ipxe windows on either side and
// the drift cancels (0.9); against the window before only, it would
// read 0.81. The last endpoint has no /boot.ipxe window after it and is
// taken against the one before.
func TestVsBoot(t *testing.T) {
	seq := []measured{
		{0, 100}, {1, 0.9 * 90}, {0, 80}, {2, 0.9 * 70}, {0, 60}, // a round, paired
		{0, 60}, {1, 0.9 * 60}, // no /boot.ipxe window after it
	}
	got := vsBoot(seq, 3, true)
	want := [][]float64{nil, {0.9, 0.9}, {0.9}}
	if !closeRatios(got, want) {
		t.Errorf("paired: %v, want %v", got, want)
	}
	got = vsBoot(seq, 3, false)
	want = [][]float64{nil, {0.81, 0.9}, {0.9 * 70 / 80}}
	if !closeRatios(got, want) {
		t.Errorf("unpaired (the window before): %v, want %v", got, want)
	}
	// A /boot.ipxe window that answered nothing is no reference: the
	// endpoint is taken against the windows that did.
	got = vsBoot([]measured{{0, 100}, {1, 90}, {0, 0}, {2, 45}, {0, 50}}, 3, true)
	want = [][]float64{nil, {90.0 / 75}, {45.0 / 75}}
	if !closeRatios(got, want) {
		t.Errorf("a window of nothing: %v, want %v", got, want)
	}
}

func closeRatios(got, want [][]float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if len(got[i]) != len(want[i]) {
			return false
		}
		for j := range got[i] {
			if math.Abs(got[i][j]-want[i][j]) > 1e-9 {
				return false
			}
		}
	}
	return true
}

// serveLoopback serves h on a loopback port until the test ends and
// returns its base URL.
func serveLoopback(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := http.Server{Handler: h}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String()
}
