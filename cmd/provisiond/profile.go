package main

import (
	"log/slog"
	"os"
	"runtime/pprof"
	"runtime/trace"
)

// startProfiles starts a CPU profile and an execution trace of serve when
// the environment asks for them (PROVISIOND_CPUPROFILE=FILE,
// PROVISIOND_TRACE=FILE), for measuring start-up (docs/performance.md);
// the returned func stops them and is called when serve returns. These
// are for developers, not a documented flag: a file that cannot be
// created is logged and skipped, never a reason not to serve.
func startProfiles(log *slog.Logger) (stop func()) {
	var stops []func()
	if path := os.Getenv("PROVISIOND_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err != nil {
			log.Warn("PROVISIOND_CPUPROFILE: not profiling", "err", err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			log.Warn("PROVISIOND_CPUPROFILE: not profiling", "err", err)
		} else {
			stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
		}
	}
	if path := os.Getenv("PROVISIOND_TRACE"); path != "" {
		if f, err := os.Create(path); err != nil {
			log.Warn("PROVISIOND_TRACE: not tracing", "err", err)
		} else if err := trace.Start(f); err != nil {
			f.Close()
			log.Warn("PROVISIOND_TRACE: not tracing", "err", err)
		} else {
			stops = append(stops, func() { trace.Stop(); f.Close() })
		}
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}
