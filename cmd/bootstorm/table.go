package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/provisiond/provisiond/internal/catalogen"
)

func secs(s float64) string {
	if s <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f s", s)
}

// runTable runs a spawned server for each shape and size (--sizes;
// assets measured with the first shape at N = 10,000) and prints every
// run, then the summary tables.
func runTable(ctx context.Context, cfg config, shapes []catalogen.Shape, stdout, stderr io.Writer) error {
	var results []*result
	for si, shape := range shapes {
		for _, n := range cfg.Sizes {
			c := cfg
			c.N, c.Shape = n, shape
			c.Machines = min(cfg.Machines, n)
			c.Assets = cfg.Assets || (si == 0 && n == 10_000)
			fmt.Fprintf(stderr, "bootstorm: === N = %d, %s shape ===\n", n, shape)
			r, err := runSpawned(ctx, c, stderr)
			if r != nil {
				r.print(stdout)
				results = append(results, r)
			}
			if err != nil {
				return fmt.Errorf("N = %d, %s shape: %w", n, shape, err)
			}
		}
	}
	printSummary(stdout, results, cfg)
	return nil
}

func printSummary(w io.Writer, rs []*result, cfg config) {
	fmt.Fprintf(w, "\n## Summary (server on CPU %q, load on CPU %q, c=%d, %s per endpoint in %d rounds, median round)\n\n", cfg.ServerCPU, cfg.LoadCPU, cfg.SteadyConns, cfg.SteadyDur, cfg.Rounds)
	fmt.Fprintln(w, "| shape | N | endpoint | req/s | vs /boot.ipxe | p50 | p99 |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
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
			fmt.Fprintf(w, "| %s | %d | %s | %.0f | %s | %s | %s |\n", r.Shape, r.N, s.Endpoint, s.PerSecond, ratio, ms(s.P50), ms(s.P99))
		}
	}
	if len(rs) >= 2 && rs[0].Shape == rs[len(rs)-1].Shape {
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
	fmt.Fprintln(w, "\n| shape | N | start-up, --catalog, new database | catalog load | start-up from the store | start-up, --catalog, same database | RSS after start-up | peak RSS (--catalog starts) | peak RSS (from the store) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %.0f MiB | %.0f MiB | %.0f MiB |\n", r.Shape, r.N, secs(r.StartupSeconds), r.CatalogLoad,
			secs(r.StoreStartupSeconds), secs(r.AgainStartupSeconds), r.IdleRSSMiB, r.PeakRSSMiB, r.StorePeakRSSMiB)
	}
	fmt.Fprintln(w, "\n| shape | N | storm machines | concurrency | machines/s | server CPU | failed | duplicates | durable after SIGKILL | start-up | catalog load | RSS in storm | peak RSS |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		if r.Storm == nil {
			continue
		}
		s := r.Storm
		fmt.Fprintf(w, "| %s | %d | %d | %d | %.0f | %.0f%% | %d | %d | %d/%d | %s | %s | %.0f MiB | %.0f MiB |\n", r.Shape, r.N, s.Machines, s.Concurrency, s.MachinesPerSecond(), 100*s.ServerCPU, s.Failed, s.Duplicates,
			r.Durable, r.DurableChecked, (time.Duration(r.StartupSeconds * float64(time.Second))).Round(time.Millisecond), r.CatalogLoad, r.StormRSSMiB, r.PeakRSSMiB)
	}
}
