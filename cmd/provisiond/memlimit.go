package main

import (
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
)

// parseMemoryLimit parses a --memory-limit value the way the Go runtime
// reads GOMEMLIMIT: a number of bytes with an optional unit B, KiB, MiB,
// GiB or TiB. "off" is no limit (math.MaxInt64, as GOMEMLIMIT=off).
func parseMemoryLimit(s string) (int64, error) {
	if s == "off" {
		return math.MaxInt64, nil
	}
	num, mult := s, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("--memory-limit %q: want a positive number of bytes, optionally with B, KiB, MiB, GiB or TiB (as GOMEMLIMIT), or off", s)
	}
	return n * mult, nil
}

// applyMemoryLimit sets the Go runtime's soft memory limit from
// --memory-limit; empty leaves the runtime's (GOMEMLIMIT, else none).
// Near the limit the garbage collector runs more often instead of letting
// the heap grow to twice the live data (GOGC): resident memory is bounded
// at the price of CPU. With neither a limit nor GOGC, the collector's
// target is serveGCPercent (tuneServeGC).
func applyMemoryLimit(s string, log *slog.Logger) error {
	if s != "" {
		n, err := parseMemoryLimit(s)
		if err != nil {
			return err
		}
		debug.SetMemoryLimit(n)
		if n != math.MaxInt64 {
			log.Info("memory limit", "bytes", n)
		}
	}
	tuneServeGC()
	return nil
}
