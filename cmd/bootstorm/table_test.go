package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provisiond/provisiond/assets"
	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/internal/catalogen"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/server"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/bolt"
)

// The test binary doubles as two helper processes, chosen by environment:
// a memory hog for the watchdog, and a stand-in for matchbox (matchbox's
// flags, the catalog served by provisiond's own server package) so that
// the comparison's plumbing is tested without the real binary.
const helperEnv = "BOOTSTORM_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "hog":
		hog()
		return
	case "matchbox":
		os.Exit(fakeMatchbox(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// hog touches 400 MiB and waits to be killed.
func hog() {
	b := make([]byte, 400<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	time.Sleep(10 * time.Minute)
	runtime.KeepAlive(b)
}

// fakeMatchbox serves -data-path on -address as matchbox's flags say.
func fakeMatchbox(args []string) int {
	fs := flag.NewFlagSet("matchbox", flag.ContinueOnError)
	data := fs.String("data-path", "", "")
	assetsPath := fs.String("assets-path", "", "")
	addr := fs.String("address", "", "")
	fs.String("log-level", "info", "")
	version := fs.Bool("version", false, "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *version {
		fmt.Println("v0.0.0-fake")
		return 0
	}
	ctx := context.Background()
	c, err := catalog.LoadDir(*data)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "fake-matchbox-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	store, err := bolt.Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer store.Close()
	table := ipam.NewTable(nil)
	snap, _, err := storage.Apply(ctx, store, table, c, catalog.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	log := slog.New(slog.DiscardHandler)
	a, err := assets.New(*assetsPath, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := server.New(server.Config{Logger: log, Allocator: store, Leases: table, Recorder: inventory.NewRecorder(store, nil, log), Assets: a})
	srv.Swap(snap)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintln(os.Stderr, http.Serve(ln, srv))
	return 1
}

func TestParseWrkSecondsAndErrors(t *testing.T) {
	// wrk 4.1 --latency against a slow server: percentiles in seconds and
	// minutes, socket errors (timeouts) counted as errors.
	out := `Running 20s test @ http://127.0.0.1:40321
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.91s   402.17ms   1.02m    70.00%
    Req/Sec     0.00      0.00     0.00    100.00%
  Latency Distribution
     50%    3.87s 
     75%    4.21s 
     90%    4.40s 
     99%    1.02m 
  10 requests in 20.02s, 3.11KB read
  Socket errors: connect 0, read 1, write 0, timeout 2
Requests/sec:      0.50
Transfer/sec:     159.05B
`
	s, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if s.PerSecond != 0.5 || s.Requests != 10 || s.Errors != 3 || s.FirstErr == "" ||
		s.P50 != 3870*time.Millisecond || s.P99 != 61200*time.Millisecond || s.Max != 61200*time.Millisecond || s.BytesPerSecond != 159.05 {
		t.Errorf("parsed %+v", s)
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused\n"); err == nil {
		t.Error("parseWrk took output without Requests/sec")
	}
}

// TestParseWrkReal runs the installed wrk against a local server and
// parses its real output (skipped without wrk).
func TestParseWrkReal(t *testing.T) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk not installed")
	}
	hs := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(20 * time.Millisecond)
		}
		w.Write([]byte("ok"))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	defer hs.Close()
	s, err := runWrk(t.Context(), wrk, "http://"+ln.Addr().String(), steadyTarget{"/slow", []string{"/slow", "/slow?x=1"}}, 2, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Every answer took at least 20 ms: the percentiles must say so,
	// whatever the machine's load.
	if s.Endpoint != "/slow" || s.Requests < 1 || s.PerSecond <= 0 || s.Errors != 0 ||
		s.P50 < 20*time.Millisecond || s.P99 < s.P50 || s.Max < s.P99 {
		t.Errorf("wrk against a 20 ms endpoint: %+v", s)
	}
}

func TestParseGCTrace(t *testing.T) {
	log := `time=2026-12-01T05:37:59.327Z level=INFO msg="serving assets" dir=/tmp/x
gc 1 @0.012s 2%: 0.010+1.2+0.003 ms clock, 0.010+0.35/0.80/0.10+0.003 ms cpu, 4->4->1 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 1 P
gc 2 @1.500s 9%: 0.5+20+0.1 ms clock, 0.5+2.0/15.0/3.0+0.5 ms cpu, 300->310->150 MB, 320 MB goal, 0 MB stacks, 0 MB globals, 1 P
time=2026-12-01T05:38:01.000Z level=INFO msg=listening listener=boot addr=127.0.0.1:43779
gc 3 @2.250s 8%: 0.1+5+0.1 ms clock, 0.1+1.0/4.0/0+0.9 ms cpu, 200->210->100 MB, 300 MB goal, 0 MB stacks, 0 MB globals, 1 P (forced)
gc 4 @x.250s 8%: garbled
`
	cycles := parseGCTrace(strings.NewReader(log))
	if len(cycles) != 3 {
		t.Fatalf("%d cycles, want 3: %+v", len(cycles), cycles)
	}
	want := []gcCycle{
		// Idle marking (the third figure after "+") is left out.
		{12 * time.Millisecond, 1163 * time.Microsecond},
		{1500 * time.Millisecond, 18 * time.Millisecond},
		{2250 * time.Millisecond, 6 * time.Millisecond},
	}
	for i, c := range cycles {
		if c.At != want[i].At || (c.CPU-want[i].CPU).Abs() > time.Microsecond {
			t.Errorf("cycle %d: %+v, want %+v", i, c, want[i])
		}
	}
	if got := gcCPU(cycles, 0, 2*time.Second); (got - 19163*time.Microsecond).Abs() > time.Microsecond {
		t.Errorf("gcCPU(0, 2s) = %s", got)
	}
	if got := gcCPU(cycles, 2*time.Second, 3*time.Second); (got - 6*time.Millisecond).Abs() > time.Microsecond {
		t.Errorf("gcCPU(2s, 3s) = %s", got)
	}
	if got := gcShare(25*time.Millisecond, 100*time.Millisecond); got != 0.25 {
		t.Errorf("gcShare = %v, want 0.25", got)
	}
	if gcShare(time.Millisecond, 0) != -1 || gcShare(2*time.Second, time.Second) != 1 {
		t.Error("gcShare: want -1 without CPU time, at most 1")
	}
}

// TestGCTraceOfARealProcess checks the pattern against this Go's own
// gctrace output.
func TestGCTraceOfARealProcess(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run", "^TestGCTraceHelper$")
	cmd.Env = withGCTrace(append(os.Environ(), helperEnv+"=gc"))
	// The trace is on stderr; the test's PASS on stdout, kept apart: the
	// runtime writes a trace line in pieces, and a shared pipe can get
	// "PASS" in the middle of one.
	var out bytes.Buffer
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, out.Bytes())
	}
	if cycles := parseGCTrace(bytes.NewReader(out.Bytes())); len(cycles) < 2 {
		t.Fatalf("%d gc cycles parsed from:\n%s", len(cycles), out.Bytes())
	}
}

func TestGCTraceHelper(t *testing.T) {
	if os.Getenv(helperEnv) != "gc" {
		t.Skip("helper of TestGCTraceOfARealProcess")
	}
	// Four collections for the two the test needs: the runtime prints a
	// cycle's trace line as the cycle ends, and the process may exit
	// (after the last one) before that line is written whole.
	for range 4 {
		runtime.GC()
	}
}

func TestWithGCTrace(t *testing.T) {
	env := withGCTrace([]string{"A=1", "GODEBUG=madvdontneed=1"})
	if strings.Join(env, " ") != "A=1 GODEBUG=madvdontneed=1,gctrace=1" {
		t.Errorf("got %q", env)
	}
	if env := withGCTrace([]string{"A=1"}); strings.Join(env, " ") != "A=1 GODEBUG=gctrace=1" {
		t.Errorf("got %q", env)
	}
}

func TestBounds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{{"12GiB", 12 * 1024, true}, {"500MiB", 500, true}, {"0", 0, true}, {"1.5G", 1536, true}, {"1048576", 1, true}, {"-1GiB", 0, false}, {"lots", 0, false}} {
		got, err := parseMiB(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseMiB(%q) = %v, %v; want %v ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	if b := checkBound(1000, 10000, 12*1024, 2048); b != nil {
		t.Errorf("stopped under both bounds: %v", b)
	}
	if b := checkBound(13*1024, 10000, 12*1024, 2048); b == nil || !strings.Contains(b.Error(), "stopped at 13.0 GiB") || !strings.Contains(b.Error(), "--max-rss 12.0 GiB") {
		t.Errorf("above --max-rss: %v", b)
	}
	if b := checkBound(1000, 1024, 12*1024, 2048); b == nil || !strings.Contains(b.Error(), "--min-available") {
		t.Errorf("under --min-available: %v", b)
	}
	if b := checkBound(1000, 0, 12*1024, 2048); b != nil {
		t.Errorf("unknown MemAvailable stopped the server: %v", b)
	}
	if b := checkBound(1<<20, 1, 0, 0); b != nil {
		t.Errorf("no bounds, yet stopped: %v", b)
	}
	mi := "MemTotal:       24000000 kB\nMemAvailable:    2097152 kB\n"
	if got := meminfoField(mi, "MemAvailable:"); got != 2048 {
		t.Errorf("MemAvailable = %v MiB, want 2048", got)
	}
}

// TestWatchdogStopsAServer starts a process that takes 400 MiB under a
// 100 MiB bound: the watchdog must kill it and say why.
func TestWatchdogStopsAServer(t *testing.T) {
	t.Setenv(helperEnv, "hog")
	s, err := launch(config{MaxRSSMiB: 100}, filepath.Join(t.TempDir(), "hog.log"), []string{os.Args[0]})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(2 * time.Minute):
		s.kill()
		t.Fatal("the hog was not stopped within two minutes")
	}
	b := s.bound.Load()
	if b == nil || b.RSSMiB <= 100 || !strings.Contains(b.Error(), "--max-rss") {
		t.Fatalf("bound %+v", b)
	}
}

func TestOneTable(t *testing.T) {
	steady := []summary{
		{Endpoint: "/boot.ipxe", PerSecond: 40000, P50: 250 * time.Microsecond, P99: 4 * time.Millisecond},
		{Endpoint: "/ipxe", PerSecond: 20000, P50: 340 * time.Microsecond, P99: 7720 * time.Microsecond},
		{Endpoint: "/metadata", PerSecond: 10000, P50: time.Millisecond, P99: 9 * time.Millisecond},
	}
	rs := []*result{
		{Server: "provisiond", Shape: catalogen.Matchbox, N: 100000, StartupSeconds: 4.99, StoreStartupSeconds: 2.68, AgainStartupSeconds: 8.8,
			CatalogLoad: "4.95s", AgainLoad: "8.7s", Phases: []phase{{"serving assets", 10 * time.Millisecond}, {"catalog loaded", 4980 * time.Millisecond}, {"listening", 4990 * time.Millisecond}},
			Steady: steady, GCStartup: 0.15, GCStoreStartup: 0.1, GCAgainStartup: 0.27, GCStorm: 0.2, GCSteady: 0.05,
			StealStartup: 0.02, StealStorm: 0.1, StealSteady: 0.25, StartupCPU: [3]float64{4.2, 2.5, 1.1},
			Storm:   &stormResult{Machines: 10000, Concurrency: 128, Elapsed: 10 * time.Second, Failed: 0, Duplicates: 0},
			Durable: 10000, DurableChecked: 10000, IdleRSSMiB: 495, PeakRSSMiB: 1275, StorePeakRSSMiB: 523},
		{Server: "matchbox v0.11.0", Shape: catalogen.Matchbox, N: 100000, StartupSeconds: 0.03, FirstIPXESeconds: 4.1,
			Steady:    []summary{{Endpoint: "/boot.ipxe", PerSecond: 30000}, {Endpoint: "/ipxe", PerSecond: 0.25, P50: 4 * time.Second, P99: 8 * time.Second}},
			GCStartup: -1, GCStorm: 0.3, GCSteady: 0.31, SteadyNote: "bounded", StealStartup: -1, StealStorm: -1, StealSteady: -1,
			Storm: &stormResult{Machines: 8, Concurrency: 4, Elapsed: 80 * time.Second}},
		{Server: "provisiond", Shape: catalogen.Pooled, N: 1000000, GCStartup: -1, GCStoreStartup: -1, GCAgainStartup: -1, GCStorm: -1, GCSteady: -1,
			StealStartup: -1, StealStorm: -1, StealSteady: -1,
			Stopped: (&boundStop{RSSMiB: 12.3 * 1024, Reason: "resident memory above --max-rss 12.0 GiB"}).Error()},
	}
	var out bytes.Buffer
	printOneTable(&out, rs, config{ServerCPU: "0", LoadCPU: "1", SteadyConns: 16, SteadyDur: 10 * time.Second, Rounds: 3, Machines: 10000, Concurrency: 128, MaxRSSMiB: 12 * 1024, MinAvailableMiB: 2048})
	var rows []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "|") {
			rows = append(rows, l)
		}
	}
	if len(rows) != 2+len(rs) {
		t.Fatalf("%d table lines, want %d:\n%s", len(rows), 2+len(rs), out.String())
	}
	cols := strings.Count(rows[0], "|")
	for _, r := range rows[1:] {
		if strings.Count(r, "|") != cols {
			t.Errorf("%d separators, header has %d: %s", strings.Count(r, "|"), cols, r)
		}
	}
	for i, want := range [][]string{
		{"| provisiond | matchbox | 100000 | 4.99 s / 2.68 s / 8.80 s | 4.95 s / 8.70 s | serving assets 0.01, catalog loaded 4.98 |",
			"| 40000, 0.25/4.00 ms |", "| 20000, 50%, 0.34/7.72 ms |", "| - |", "| 10000, 25%, 1.00/9.00 ms |",
			"| 15% / 10% / 27%; 20%; 5% |", "| 1000 (10000 machines, 128 at a time, 10.0 s) | 0 | 0 | 10000/10000 | 495 MiB | 1275 MiB | start-up CPU: 4.20 s / 2.50 s / 1.10 s; steal: 2%; 10%; 25% |"},
		{"| matchbox v0.11.0 | matchbox | 100000 | first /boot.ipxe 0.03 s, first /ipxe 4.10 s / - / - |", "| 0.25, 0%, 4000.00/8000.00 ms |",
			"| -; 30%; 31% |", "| 0.10 (8 machines, 4 at a time, 80.0 s) |", "| n/a (no leases) |", "| bounded |"},
		{"| provisiond | pooled | 1000000 | - / - / - |", "**stopped at 12.3 GiB: resident memory above --max-rss 12.0 GiB**"},
	} {
		for _, w := range want {
			if !strings.Contains(rows[2+i], w) {
				t.Errorf("row %d lacks %q:\n%s", i, w, rows[2+i])
			}
		}
	}
}

// TestTableEndToEnd runs the whole --table at N = 10, both shapes, with
// a provisiond built from this tree and the stand-in matchbox.
func TestTableEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds provisiond")
	}
	t.Setenv(pinnedEnv, "1")
	bin := filepath.Join(t.TempDir(), "provisiond")
	build := exec.Command("go", "build", "-o", bin, "github.com/provisiond/provisiond/cmd/provisiond")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	fake := filepath.Join(t.TempDir(), "matchbox")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"+helperEnv+"=matchbox exec "+self+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run([]string{"--table", "--shape", "matchbox,pooled", "--sizes", "10", "--duration", "1s", "--rounds", "1",
		"--provisiond", bin, "--server-cpu", "", "--load-cpu", "", "--matchbox", fake, "--matchbox-storm", "30s"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	table := out.String()[strings.Index(out.String(), "## One table"):]
	var rows []string
	for _, l := range strings.Split(table, "\n") {
		if strings.HasPrefix(l, "| provisiond") || strings.HasPrefix(l, "| matchbox") {
			rows = append(rows, l)
		}
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want provisiond matchbox, matchbox v0.0.0-fake, provisiond pooled:\n%s", len(rows), table)
	}
	for i, prefix := range []string{"| provisiond | matchbox | 10 |", "| matchbox v0.0.0-fake | matchbox | 10 |", "| provisiond | pooled | 10 |"} {
		if !strings.HasPrefix(rows[i], prefix) {
			t.Errorf("row %d: %s, want %s...", i, rows[i], prefix)
		}
	}
	for i, want := range []string{"| 0 | 0 | 10/10 |", "| 0 | 0 | n/a (no leases) |", "| 0 | 0 | 10/10 |"} {
		// failed, duplicates, durable: every machine booted, with its own
		// address, and kept it across SIGKILL.
		if !strings.Contains(rows[i], want) {
			t.Errorf("row %d lacks %q: %s", i, want, rows[i])
		}
	}
	for i, r := range rows {
		if strings.Contains(r, "failed:") || strings.Contains(r, "stopped at") {
			t.Errorf("row %d: %s", i, r)
		}
		if !strings.Contains(r, "(10 machines,") {
			t.Errorf("row %d: storm of 10 machines missing: %s", i, r)
		}
	}
}

// TestRunBounded measures a slow endpoint: it stops at the request bound,
// every request counts, and the percentiles see the server's delay.
func TestRunBounded(t *testing.T) {
	base := serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(30 * time.Millisecond)
		w.Write([]byte("ok"))
	}))
	tgt := steadyTarget{"/slow", []string{"/a", "/b"}}
	s, err := runBounded(t.Context(), base, tgt, 2, time.Hour, 7, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests != 7 || s.Errors != 0 || s.P50 < 30*time.Millisecond || s.PerSecond <= 0 || s.Elapsed <= 0 {
		t.Errorf("bounded by requests: %+v", s)
	}
	// Bounded by time: whatever was sent finishes and counts.
	s, err = runBounded(t.Context(), base, tgt, 2, time.Nanosecond, 1000, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests > 2 || s.Errors != 0 {
		t.Errorf("bounded by time: %+v", s)
	}
}

// TestStormStopAt: a storm whose time is up starts no machine and says so.
func TestStormStopAt(t *testing.T) {
	res, err := runStormBounded(t.Context(), "http://127.0.0.1:1", catalogen.Matchbox, 50, 4, stormBounds{StopAt: time.Now().Add(-time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Machines != 0 || res.Failed != 0 || res.MachinesPerSecond() != 0 {
		t.Errorf("storm after its time: %+v", res)
	}
}

// TestSteal checks /proc/stat's parsing: the CPUs asked for (or the "cpu"
// line for all), steal the eighth counter, guest time not counted twice,
// and the share between two readings.
func TestSteal(t *testing.T) {
	stat := []byte(`cpu  100 0 50 800 10 0 5 35 7 0
cpu0 60 0 30 380 5 0 3 22 7 0
cpu1 40 0 20 420 5 0 2 13 0 0
intr 12345
`)
	all := parseCPUTimes(stat, nil)
	if !all.ok || all.total != 1000 || all.steal != 35 {
		t.Errorf("all CPUs: %+v, want total 1000, steal 35", all)
	}
	c0 := parseCPUTimes(stat, []int{0})
	if !c0.ok || c0.total != 500 || c0.steal != 22 {
		t.Errorf("cpu0: %+v, want total 500, steal 22", c0)
	}
	both := parseCPUTimes(stat, []int{0, 1})
	if both.total != 1000 || both.steal != 35 {
		t.Errorf("cpu0,1: %+v", both)
	}
	if none := parseCPUTimes(stat, []int{5}); none.ok {
		t.Errorf("cpu5 does not exist: %+v", none)
	}
	later := cpuTimes{total: c0.total + 200, steal: c0.steal + 50, ok: true}
	if got := stealShare(c0, later); got != 0.25 {
		t.Errorf("stealShare = %v, want 0.25", got)
	}
	if stealShare(c0, c0) != -1 || stealShare(cpuTimes{}, later) != -1 {
		t.Error("stealShare: want -1 with no tick between, or a reading missing")
	}
	for in, want := range map[string][]int{"0": {0}, "0-2": {0, 1, 2}, "1,3-4": {1, 3, 4}, "": nil, "x": nil, "3-1": nil} {
		if got := parseCPUList(in); !slices.Equal(got, want) {
			t.Errorf("parseCPUList(%q) = %v, want %v", in, got, want)
		}
	}
	// This machine's own /proc/stat reads.
	if _, err := os.Stat(procStat); err == nil {
		if got := readCPUTimes([]int{0}); !got.ok || got.total == 0 {
			t.Errorf("%s: cpu0 %+v", procStat, got)
		}
	}
}
