package main

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/provisiond/provisiond/internal/catalogen"
)

// printPhases prints each start-up log line's time since exec.
func printPhases(w io.Writer, indent string, ps []phase) {
	for _, p := range ps {
		fmt.Fprintf(w, "%s%6.3f s  %s\n", indent, p.at.Seconds(), p.msg)
	}
}

// endpointStats collects one endpoint's latencies and errors.
type endpointStats struct {
	mu        sync.Mutex
	latencies []time.Duration
	errors    int
	firstErr  string
}

func (s *endpointStats) add(d time.Duration, err error) {
	s.mu.Lock()
	if err != nil {
		s.errors++
		if s.firstErr == "" {
			s.firstErr = err.Error()
		}
	} else {
		s.latencies = append(s.latencies, d)
	}
	s.mu.Unlock()
}

// summary is what the report prints for one endpoint.
type summary struct {
	Endpoint      string
	Requests      int
	Errors        int
	FirstErr      string
	PerSecond     float64
	P50, P99, Max time.Duration
	// BytesPerSecond is set for asset transfers.
	BytesPerSecond float64
	// VsBoot is PerSecond against /boot.ipxe's, from windows close in
	// time (runSteady); 0 when not measured.
	VsBoot float64
	// Elapsed is the measurement's time when it is not the one asked
	// for (runBounded).
	Elapsed time.Duration
}

func (s *endpointStats) summary(name string, elapsed time.Duration) summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := summary{Endpoint: name, Requests: len(s.latencies) + s.errors, Errors: s.errors, FirstErr: s.firstErr}
	if elapsed > 0 {
		out.PerSecond = float64(len(s.latencies)) / elapsed.Seconds()
	}
	if n := len(s.latencies); n > 0 {
		l := slices.Clone(s.latencies)
		slices.Sort(l)
		out.P50 = l[n/2]
		out.P99 = l[min(n-1, n*99/100)]
		out.Max = l[n-1]
	}
	return out
}

// result is one run: the storm, the steady-state table, and what --spawn
// measured of the server.
type result struct {
	// Server is "provisiond" or the matchbox binary's name and version.
	Server string
	// Stopped is set when the memory watchdog stopped the server; Err
	// when the run failed otherwise (the table goes on with the next).
	Stopped, Err string
	// GC shares of the server's CPU (0 to 1; -1 unknown) from exec to
	// listening (each of the three start-ups), during the storm and during
	// the steady state.
	GCStartup, GCStoreStartup, GCAgainStartup, GCStorm, GCSteady float64
	// Steal shares of the server's CPUs' time (0 to 1; -1 unknown): what
	// the hypervisor gave to others while this machine had work, from
	// exec to listening (the first start-up), during the storm and
	// during the steady state. Figures from a window with much of it
	// measured the host.
	StealStartup, StealStorm, StealSteady float64
	// FirstIPXESeconds (matchbox) is from exec to the first /ipxe answer.
	FirstIPXESeconds float64
	// SteadyNote says how a slow server's steady state was bounded.
	SteadyNote string
	N          int
	Shape      catalogen.Shape
	Storm      *stormResult
	Steady     []summary
	Assets     []summary
	// StartupSeconds is from exec to the boot listener accepting.
	StartupSeconds float64
	CatalogLoad    string
	Phases         []phase
	// StoreStartupSeconds is the restart after SIGKILL, from the stored
	// catalog (no --catalog); AgainStartupSeconds the restart after that
	// with --catalog on a database that holds the same catalog.
	StoreStartupSeconds, AgainStartupSeconds float64
	// StartupCPU is the server's CPU time (user and system) from exec to
	// listening, for the three start-ups (new database, from the store,
	// same database; 0 unknown): a start-up much longer than its CPU
	// waited (for the disk, or for a core another process had).
	StartupCPU [3]float64
	// AgainDirServedSeconds is, on the restart with --catalog, the time
	// from exec to the directory's catalog being served, when it loaded
	// in the background while the stored catalog was served (0: it did
	// not; the server listened only after the load).
	AgainDirServedSeconds            float64
	StorePhases, AgainPhases         []phase
	AgainLoad                        string
	StorePeakRSSMiB, AgainPeakRSSMiB float64
	// IdleRSSMiB is the server's resident memory after start-up,
	// StormRSSMiB the largest sampled during the storm, PeakRSSMiB its
	// peak since exec (VmHWM, which includes loading the catalog).
	IdleRSSMiB, StormRSSMiB, PeakRSSMiB float64
	// Durable is the number of machines whose address a server restarted
	// after SIGKILL gave back unchanged, out of DurableChecked.
	Durable, DurableChecked int
}

// pct prints a share (0 to 1; negative: unknown).
func pct(f float64) string {
	if f < 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*f)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func (r *result) print(w io.Writer) {
	server := ""
	if r.Server != "" && r.Server != "provisiond" {
		server = ", " + r.Server
	}
	fmt.Fprintf(w, "\n## N = %d, %s shape%s\n", r.N, r.Shape, server)
	if r.Stopped != "" {
		fmt.Fprintf(w, "STOPPED by the memory watchdog: %s\n", r.Stopped)
	}
	if r.Err != "" {
		fmt.Fprintf(w, "FAILED: %s\n", r.Err)
	}
	if r.FirstIPXESeconds > 0 {
		fmt.Fprintf(w, "start-up: first 200 on /boot.ipxe %.2f s after exec, first /ipxe %.2f s; RSS after start-up %.0f MiB, during the storm at most %.0f MiB, peak since exec %.0f MiB\n",
			r.StartupSeconds, r.FirstIPXESeconds, r.IdleRSSMiB, r.StormRSSMiB, r.PeakRSSMiB)
	} else if r.StartupSeconds > 0 {
		fmt.Fprintf(w, "start-up: %.2f s to listening, %.2f s of CPU (catalog load: %s); RSS after start-up %.0f MiB, during the storm at most %.0f MiB, peak since exec %.0f MiB\n",
			r.StartupSeconds, r.StartupCPU[0], r.CatalogLoad, r.IdleRSSMiB, r.StormRSSMiB, r.PeakRSSMiB)
		printPhases(w, "  ", r.Phases)
	}
	if r.StoreStartupSeconds > 0 {
		fmt.Fprintf(w, "restart from the store (no --catalog): %.2f s to listening, %.2f s of CPU; peak RSS %.0f MiB\n", r.StoreStartupSeconds, r.StartupCPU[1], r.StorePeakRSSMiB)
		printPhases(w, "  ", r.StorePhases)
	}
	if r.AgainStartupSeconds > 0 {
		fmt.Fprintf(w, "restart with --catalog on the same database: %.2f s to listening, %.2f s of CPU (catalog load: %s); peak RSS %.0f MiB\n", r.AgainStartupSeconds, r.StartupCPU[2], r.AgainLoad, r.AgainPeakRSSMiB)
		if r.AgainDirServedSeconds > 0 {
			fmt.Fprintf(w, "  (the stored catalog was served while --catalog loaded in the background; the directory's catalog was served after %.2f s)\n", r.AgainDirServedSeconds)
		}
		printPhases(w, "  ", r.AgainPhases)
	}
	if s := r.Storm; s != nil {
		fmt.Fprintf(w, "storm: %d machines, concurrency %d, %.2f s: %.0f machines/s; %d failed machines; %d addresses, %d duplicates\n",
			s.Machines, s.Concurrency, s.Elapsed.Seconds(), s.MachinesPerSecond(), s.Failed, s.Addresses, s.Duplicates)
		if s.ServerCPU > 0 {
			fmt.Fprintf(w, "server CPU during the storm: %.0f%% of one core\n", 100*s.ServerCPU)
		}
		if r.DurableChecked > 0 {
			fmt.Fprintf(w, "durability: after SIGKILL and restart, %d of %d machines got the same address back\n", r.Durable, r.DurableChecked)
		}
		printTable(w, "storm endpoints", s.Endpoints, "")
	}
	if r.FirstIPXESeconds > 0 { // matchbox: one start-up, no store
		fmt.Fprintf(w, "GC share of the server's CPU: start-up %s, storm %s, steady state %s\n", pct(r.GCStartup), pct(r.GCStorm), pct(r.GCSteady))
	} else {
		fmt.Fprintf(w, "GC share of the server's CPU: start-up %s (from the store %s, --catalog on the same database %s), storm %s, steady state %s\n",
			pct(r.GCStartup), pct(r.GCStoreStartup), pct(r.GCAgainStartup), pct(r.GCStorm), pct(r.GCSteady))
	}
	if r.StealStartup >= 0 || r.StealStorm >= 0 || r.StealSteady >= 0 {
		fmt.Fprintf(w, "time the hypervisor stole from the server's CPUs (/proc/stat): start-up %s, storm %s, steady state %s\n", pct(r.StealStartup), pct(r.StealStorm), pct(r.StealSteady))
	}
	if len(r.Steady) > 0 {
		printTable(w, "steady state", r.Steady, "/boot.ipxe")
	}
	if r.SteadyNote != "" {
		fmt.Fprintf(w, "steady state %s\n", r.SteadyNote)
	}
	if len(r.Assets) > 0 {
		fmt.Fprintln(w, "\nassets:")
		for _, a := range r.Assets {
			fmt.Fprintf(w, "  %-40s %8.0f MB/s  %6.1f req/s  errors %d\n", a.Endpoint, a.BytesPerSecond/1e6, a.PerSecond, a.Errors)
		}
		if len(r.Assets) == 2 && r.Assets[1].BytesPerSecond > 0 {
			fmt.Fprintf(w, "  provisiond / nginx: %.0f%%\n", 100*r.Assets[0].BytesPerSecond/r.Assets[1].BytesPerSecond)
		}
	}
}

// printTable prints a markdown table; with base set, each row's ratio to
// the row of that endpoint.
func printTable(w io.Writer, title string, rows []summary, base string) {
	var baseRate float64
	for _, r := range rows {
		if r.Endpoint == base {
			baseRate = r.PerSecond
		}
	}
	fmt.Fprintf(w, "\n%s:\n\n| endpoint | requests | req/s | p50 | p99 | max | errors |", title)
	if baseRate > 0 {
		fmt.Fprint(w, " vs "+base+" |")
	}
	fmt.Fprint(w, "\n|---|---|---|---|---|---|---|")
	if baseRate > 0 {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %d | %.0f | %s | %s | %s | %d |", r.Endpoint, r.Requests, r.PerSecond, ms(r.P50), ms(r.P99), ms(r.Max), r.Errors)
		if baseRate > 0 {
			fmt.Fprintf(w, " %.0f%% |", 100*r.PerSecond/baseRate)
		}
		fmt.Fprintln(w)
	}
	for _, r := range rows {
		if r.FirstErr != "" {
			fmt.Fprintf(w, "first error on %s: %s\n", r.Endpoint, r.FirstErr)
		}
	}
}
