package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/provisiond/provisiond/internal/catalogen"
)

func secs(s float64) string {
	if s <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f s", s)
}

// buildProvisiond builds ./cmd/provisiond into dir.
func buildProvisiond(ctx context.Context, dir string, stderr io.Writer) (string, error) {
	bin := filepath.Join(dir, "provisiond")
	fmt.Fprintln(stderr, "bootstorm: building provisiond")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/provisiond/provisiond/cmd/provisiond")
	build.Stderr = stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("go build provisiond: %w", err)
	}
	return bin, nil
}

// runTable runs a spawned server for each shape and size (--sizes;
// assets measured with the first shape at N = 10,000), and with
// --matchbox the real matchbox on each matchbox-shape directory of at
// most --matchbox-max-n groups. It prints every run as it ends, then the
// one table. A run that fails or that the memory watchdog stops is a row
// that says so, and the table goes on; the error is returned at the end.
func runTable(ctx context.Context, cfg config, shapes []catalogen.Shape, stdout, stderr io.Writer) error {
	if cfg.Provisiond == "" {
		dir, err := os.MkdirTemp("", "bootstorm-bin-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if cfg.Provisiond, err = buildProvisiond(ctx, dir, stderr); err != nil {
			return err
		}
	}
	var results []*result
	var errs []error
	add := func(r *result, err error, what string) {
		if err != nil {
			var b *boundStop
			if !errors.As(err, &b) {
				r.Err = err.Error()
			}
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
			fmt.Fprintf(stderr, "bootstorm: %s: %v\n", what, err)
		}
		r.print(stdout)
		results = append(results, r)
	}
	for si, shape := range shapes {
		for _, n := range cfg.Sizes {
			if ctx.Err() != nil {
				break
			}
			c := cfg
			c.N, c.Shape = n, shape
			c.Machines = min(cfg.Machines, n)
			c.Assets = cfg.Assets || (si == 0 && n == 10_000)
			what := fmt.Sprintf("N = %d, %s shape", n, shape)
			fmt.Fprintf(stderr, "bootstorm: === %s ===\n", what)
			w, err := prepare(ctx, c, stderr)
			if err != nil {
				if w != nil {
					w.remove(cfg.Keep, stderr)
				}
				add(&result{Server: "provisiond", N: n, Shape: shape, GCStartup: -1, GCStoreStartup: -1, GCAgainStartup: -1, GCStorm: -1, GCSteady: -1, StealStartup: -1, StealStorm: -1, StealSteady: -1}, err, what)
				continue
			}
			r, err := runOn(ctx, c, w, stderr)
			add(r, err, what)
			if shape == catalogen.Matchbox && cfg.Matchbox != "" && n <= cfg.MatchboxMaxN && ctx.Err() == nil {
				r, err := runMatchbox(ctx, c, w, stderr)
				add(r, err, what+", "+r.Server)
			}
			w.remove(cfg.Keep, stderr)
		}
	}
	printOneTable(stdout, results, cfg)
	return errors.Join(errs...)
}

// tableEndpoints are the steady-state columns of the one table.
var tableEndpoints = []string{"/boot.ipxe", "/ipxe", "/ignition (Butane)", "/ignition (raw)", "/metadata"}

// printOneTable prints one row per server, shape and size with
// everything the runs measured.
func printOneTable(w io.Writer, rs []*result, cfg config) {
	vs := "against the round's /boot.ipxe window"
	if cfg.Paired {
		vs = "against the mean of the /boot.ipxe windows just before and just after it (--paired)"
	}
	fmt.Fprintf(w, "\n## One table (server on CPU %q, load on CPU %q; steady state: %d connections, req/s from wrk (when installed), p50/p99 from a closed-loop probe after it, %s per endpoint in %d rounds, median round; vs /boot.ipxe: the median over the rounds of the endpoint's window %s; storm: min(N, %d) new machines, %d at a time",
		cfg.ServerCPU, cfg.LoadCPU, cfg.SteadyConns, cfg.SteadyDur, cfg.Rounds, vs, cfg.Machines, cfg.Concurrency)
	if cfg.Matchbox != "" {
		fmt.Fprintf(w, "; matchbox: storm %d at a time for at most %s, slow endpoints %d connections for at most %d requests or %s",
			cfg.MatchboxConcurrency, cfg.MatchboxStorm, cfg.MatchboxConns, cfg.MatchboxRequests, cfg.MatchboxDuration)
	}
	admin := "on (127.0.0.1:0, as by default)"
	if !cfg.Admin {
		admin = "off (--admin=false)"
	}
	fmt.Fprintf(w, "; provisiond's admin listener %s; memory watchdog: --max-rss %s, --min-available %s)\n\n", admin, gib(cfg.MaxRSSMiB), gib(cfg.MinAvailableMiB))
	fmt.Fprint(w, "| server | shape | N | start-up: `--catalog` new DB / from the store / `--catalog` same DB | catalog load: new DB / same DB | start-up log (new DB, s since exec) |")
	for _, e := range tableEndpoints {
		fmt.Fprintf(w, " %s req/s, vs /boot.ipxe, p50/p99 |", e)
	}
	fmt.Fprintln(w, " GC share: start-up (new DB / store / same DB); storm; steady | storm machines/s | failed | duplicates | durable after SIGKILL | RSS after start-up | peak RSS | notes (start-up CPU: the server's CPU time to listening, new DB / store / same DB; steal: the hypervisor's share of the server's CPU at start-up; storm; steady) |")
	fmt.Fprint(w, "|---|---|---|---|---|---|")
	for range tableEndpoints {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w, "---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		fmt.Fprintln(w, tableRow(r))
	}
}

// tableRow is r's row of the one table.
func tableRow(r *result) string {
	var b strings.Builder
	isMatchbox := r.Server != "" && r.Server != "provisiond"
	cell := func(format string, args ...any) { fmt.Fprintf(&b, " "+format+" |", args...) }
	b.WriteString("|")
	cell("%s", cmpOr(r.Server, "provisiond"))
	cell("%s", r.Shape)
	cell("%d", r.N)
	if isMatchbox {
		cell("first /boot.ipxe %s, first /ipxe %s / - / -", secs(r.StartupSeconds), secs(r.FirstIPXESeconds))
		cell("none: reads every group file per request")
		cell("-")
	} else {
		again := secs(r.AgainStartupSeconds)
		if r.AgainDirServedSeconds > 0 {
			// the stored catalog answered from then; the directory's
			// catalog, loaded in the background, from the second time
			again += " (dir " + secs(r.AgainDirServedSeconds) + ")"
		}
		cell("%s / %s / %s", secs(r.StartupSeconds), secs(r.StoreStartupSeconds), again)
		cell("%s / %s", cmpOr(roundDur(r.CatalogLoad), "-"), cmpOr(roundDur(r.AgainLoad), "-"))
		cell("%s", phaseList(r.Phases))
	}
	var base float64
	for _, s := range r.Steady {
		if s.Endpoint == "/boot.ipxe" {
			base = s.PerSecond
		}
	}
	for _, e := range tableEndpoints {
		s, ok := findSummary(r.Steady, e)
		switch {
		case !ok:
			cell("-")
		case e == "/boot.ipxe" || base <= 0:
			cell("%s, %s/%s", rate(s.PerSecond), msShort(s.P50), ms(s.P99))
		case s.VsBoot > 0:
			cell("%s, %.0f%%, %s/%s", rate(s.PerSecond), 100*s.VsBoot, msShort(s.P50), ms(s.P99))
		default:
			cell("%s, %.0f%%, %s/%s", rate(s.PerSecond), 100*s.PerSecond/base, msShort(s.P50), ms(s.P99))
		}
	}
	if isMatchbox {
		cell("%s; %s; %s", pct(r.GCStartup), pct(r.GCStorm), pct(r.GCSteady))
	} else {
		cell("%s / %s / %s; %s; %s", pct(r.GCStartup), pct(r.GCStoreStartup), pct(r.GCAgainStartup), pct(r.GCStorm), pct(r.GCSteady))
	}
	if s := r.Storm; s != nil {
		cell("%s (%d machines, %d at a time, %.1f s)", rate(s.MachinesPerSecond()), s.Machines, s.Concurrency, s.Elapsed.Seconds())
		cell("%d", s.Failed)
		cell("%d", s.Duplicates)
	} else {
		cell("-")
		cell("-")
		cell("-")
	}
	switch {
	case isMatchbox:
		cell("n/a (no leases)")
	case r.DurableChecked > 0:
		cell("%d/%d", r.Durable, r.DurableChecked)
	default:
		cell("-")
	}
	cell("%s", mib(r.IdleRSSMiB))
	cell("%s", mib(max(r.PeakRSSMiB, r.StorePeakRSSMiB, r.AgainPeakRSSMiB)))
	var notes []string
	if r.Stopped != "" {
		notes = append(notes, "**"+r.Stopped+"**")
	}
	if r.Err != "" {
		notes = append(notes, "**failed: "+strings.ReplaceAll(firstLine([]byte(r.Err)), "|", "/")+"**")
	}
	if r.SteadyNote != "" {
		notes = append(notes, r.SteadyNote)
	}
	if !isMatchbox && r.StartupCPU[0] > 0 {
		notes = append(notes, fmt.Sprintf("start-up CPU: %s / %s / %s", secs(r.StartupCPU[0]), secs(r.StartupCPU[1]), secs(r.StartupCPU[2])))
	}
	if r.StealStartup >= 0 || r.StealStorm >= 0 || r.StealSteady >= 0 {
		notes = append(notes, fmt.Sprintf("steal: %s; %s; %s", pct(r.StealStartup), pct(r.StealStorm), pct(r.StealSteady)))
	}
	cell("%s", cmpOr(strings.Join(notes, "; "), "-"))
	return b.String()
}

func cmpOr(s, or string) string {
	if s == "" {
		return or
	}
	return s
}

func findSummary(ss []summary, endpoint string) (summary, bool) {
	for _, s := range ss {
		if s.Endpoint == endpoint {
			return s, true
		}
	}
	return summary{}, false
}

// rate prints a rate per second: whole numbers from 10 on, two decimals
// under (matchbox at 100,000 groups answers a few requests a second).
func rate(f float64) string {
	if f >= 10 {
		return fmt.Sprintf("%.0f", f)
	}
	return fmt.Sprintf("%.2f", f)
}

// msShort is ms without the unit, for "p50/p99 ms" cells.
func msShort(d time.Duration) string { return strings.TrimSuffix(ms(d), " ms") }

func mib(m float64) string {
	if m <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f MiB", m)
}

// roundDur rounds a duration printed by the server's log to milliseconds.
func roundDur(s string) string {
	d, err := time.ParseDuration(s)
	if err != nil {
		return s
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// phaseList is the start-up log lines before listening, with their
// times since exec.
func phaseList(ps []phase) string {
	var out []string
	for _, p := range ps {
		if p.msg == "listening" {
			continue
		}
		out = append(out, fmt.Sprintf("%s %.2f", strings.ReplaceAll(p.msg, "|", "/"), p.at.Seconds()))
	}
	return cmpOr(strings.Join(out, ", "), "-")
}
