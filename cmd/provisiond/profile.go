package main

import (
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"syscall"
)

// startProfiles starts a CPU profile and an execution trace of serve when
// the environment asks for them (PROVISIOND_CPUPROFILE=FILE,
// PROVISIOND_TRACE=FILE, and PROVISIOND_MEMPROFILE=FILE for the live heap
// on each SIGUSR1), for measuring start-up (docs/performance.md);
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
	if path := os.Getenv("PROVISIOND_MEMPROFILE"); path != "" {
		// Written on each SIGUSR1: the live heap as of a collection, what
		// the served catalog keeps in memory.
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGUSR1)
		done := make(chan struct{})
		go func() {
			for {
				select {
				case <-sig:
					writeHeapProfile(log, path)
				case <-done:
					return
				}
			}
		}()
		stops = append(stops, func() { signal.Stop(sig); close(done) })
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}

// writeHeapProfile writes the heap profile after a collection, so that
// its in-use figures are the live heap.
func writeHeapProfile(log *slog.Logger, path string) {
	f, err := os.Create(path)
	if err != nil {
		log.Warn("PROVISIOND_MEMPROFILE: not profiling", "err", err)
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		log.Warn("PROVISIOND_MEMPROFILE: not profiling", "err", err)
		return
	}
	log.Info("PROVISIOND_MEMPROFILE: heap profile written", "file", path)
}
