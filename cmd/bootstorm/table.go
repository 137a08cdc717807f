package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// tableSizes are the catalog sizes of docs/performance.md.
var tableSizes = []int{10, 10_000, 100_000}

// runTable runs a spawned server for each size (assets measured with
// N = 10,000) and prints every run, then the summary tables.
func runTable(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	var results []*result
	for _, n := range tableSizes {
		c := cfg
		c.N = n
		c.Machines = min(cfg.Machines, n)
		c.Assets = cfg.Assets || n == 10_000
		fmt.Fprintf(stderr, "bootstorm: === N = %d ===\n", n)
		r, err := runSpawned(ctx, c, stderr)
		if r != nil {
			r.print(stdout)
			results = append(results, r)
		}
		if err != nil {
			return fmt.Errorf("N = %d: %w", n, err)
		}
	}
	printSummary(stdout, results, cfg)
	return nil
}

func printSummary(w io.Writer, rs []*result, cfg config) {
	fmt.Fprintf(w, "\n## Summary (server on CPU %q, load on CPU %q, c=%d, %s per endpoint in %d rounds, median round)\n\n", cfg.ServerCPU, cfg.LoadCPU, cfg.SteadyConns, cfg.SteadyDur, cfg.Rounds)
	fmt.Fprintln(w, "| N | endpoint | req/s | vs /boot.ipxe | p50 | p99 |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, r := range rs {
		var base float64
		for _, s := range r.Steady {
			if s.Endpoint == "/boot.ipxe" {
				base = s.PerSecond
			}
		}
		for _, s := range r.Steady {
			ratio := "-"
			if base > 0 {
				ratio = fmt.Sprintf("%.0f%%", 100*s.PerSecond/base)
			}
			fmt.Fprintf(w, "| %d | %s | %.0f | %s | %s | %s |\n", r.N, s.Endpoint, s.PerSecond, ratio, ms(s.P50), ms(s.P99))
		}
	}
	if len(rs) >= 2 {
		first, last := rs[0], rs[len(rs)-1]
		fmt.Fprintf(w, "\nthroughput at N = %d relative to N = %d:\n\n", last.N, first.N)
		for _, s := range last.Steady {
			for _, f := range first.Steady {
				if f.Endpoint == s.Endpoint && f.PerSecond > 0 {
					fmt.Fprintf(w, "- %s: %.0f%%\n", s.Endpoint, 100*s.PerSecond/f.PerSecond)
				}
			}
		}
	}
	fmt.Fprintln(w, "\n| N | storm machines | concurrency | machines/s | server CPU | failed | duplicates | durable after SIGKILL | start-up | catalog load | RSS in storm | peak RSS |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		if r.Storm == nil {
			continue
		}
		s := r.Storm
		fmt.Fprintf(w, "| %d | %d | %d | %.0f | %.0f%% | %d | %d | %d/%d | %s | %s | %.0f MiB | %.0f MiB |\n", r.N, s.Machines, s.Concurrency, s.MachinesPerSecond(), 100*s.ServerCPU, s.Failed, s.Duplicates,
			r.Durable, r.DurableChecked, (time.Duration(r.StartupSeconds * float64(time.Second))).Round(time.Millisecond), r.CatalogLoad, r.StormRSSMiB, r.PeakRSSMiB)
	}
}
