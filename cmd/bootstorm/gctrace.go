package main

import (
	"bufio"
	"io"
	"os"
	"regexp"
	"strconv"
	"time"
)

// The garbage collector's share of a server's CPU is measured from the
// runtime's own trace: every server bootstorm starts runs with
// GODEBUG=gctrace=1, which writes one line per collection to stderr (our
// log file):
//
//	gc 7 @1.234s 3%: 0.012+4.1+0.020 ms clock, 0.012+0.50/3.9/0.10+0.020 ms cpu, ...
//
// "@1.234s" is the time since the process started; the "ms cpu" figures
// are the time of the collection's phases on the runtime's Ps:
// stop-the-world sweep termination, then assist/background/idle marking,
// then stop-the-world mark termination. bootstorm adds all but the idle
// marking (done only when the P had nothing else to run, such as while
// the loader waits for a file: it takes nothing from the work) of the
// collections that started within a window (start-up, the storm, the
// steady state), and divides it by the CPU time the process used in that
// window, from /proc/PID/stat. This is robust where the line's own "3%"
// is not: that figure is GC time over the wall time since start-up times
// GOMAXPROCS, so it falls whenever the server waits, and it covers the
// whole life of the process rather than one window. It needs no metrics
// endpoint, and it works the same for provisiond and for matchbox.
//
// The runtime times its phases by the clock, not by the CPU the thread
// got: on a core shared with other processes, a collection that was
// descheduled counts the time it waited, while /proc counts only the CPU
// used, so on a busy machine the share reads high. It is capped at 100%.

var gcTraceLine = regexp.MustCompile(`gc \d+ @([\d.]+)s \d+%: \S+ ms clock, ([\d.]+)\+([\d.]+)/([\d.]+)/([\d.]+)\+([\d.]+) ms cpu`)

// gcCycle is one collection: when it started (since exec) and the CPU
// time it took.
type gcCycle struct {
	At, CPU time.Duration
}

// parseGCTrace reads gctrace lines from r, skipping anything else.
func parseGCTrace(r io.Reader) []gcCycle {
	var out []gcCycle
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) < 3 || line[0] != 'g' || line[1] != 'c' {
			continue // cheap: the log has a line per request
		}
		m := gcTraceLine.FindSubmatch(line)
		if m == nil {
			continue
		}
		at, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			continue
		}
		var ms float64
		for i, f := range m[2:] {
			if i == 3 {
				continue // idle marking
			}
			v, err := strconv.ParseFloat(string(f), 64)
			if err != nil {
				ms = -1
				break
			}
			ms += v
		}
		if ms < 0 {
			continue
		}
		out = append(out, gcCycle{At: time.Duration(at * float64(time.Second)), CPU: time.Duration(ms * float64(time.Millisecond))})
	}
	return out
}

// gcCPU is the CPU time of the collections that started in [from, to).
func gcCPU(cycles []gcCycle, from, to time.Duration) time.Duration {
	var sum time.Duration
	for _, c := range cycles {
		if c.At >= from && c.At < to {
			sum += c.CPU
		}
	}
	return sum
}

// gcShare is gc over the process's CPU time in the same window, 0 to 1;
// -1 when the window used no measurable CPU.
func gcShare(gc, cpu time.Duration) float64 {
	if cpu <= 0 {
		return -1
	}
	return min(1, float64(gc)/float64(cpu))
}

// window is a span of a server's life for the GC share: its times since
// exec and the server's CPU time at each end.
type window struct {
	from, to       time.Duration
	cpuFrom, cpuTo time.Duration
	// statFrom and statTo are the server's CPUs' /proc/stat counters at
	// each end (stealIn).
	statFrom, statTo cpuTimes
}

// begin starts a window now.
func (s *spawned) begin() window {
	return window{from: time.Since(s.t0), cpuFrom: s.cpuTime(), statFrom: readCPUTimes(s.cpus)}
}

// end ends a window now.
func (s *spawned) end(w window) window {
	w.to, w.cpuTo, w.statTo = time.Since(s.t0), s.cpuTime(), readCPUTimes(s.cpus)
	return w
}

// stealIn returns the share of the server's CPUs' time stolen by the
// hypervisor in w, 0 to 1; -1 when unknown.
func (s *spawned) stealIn(w window) float64 {
	return stealShare(w.statFrom, w.statTo)
}

// gcShareIn reads the server's log and returns the GC share in w; -1 when
// unknown.
func (s *spawned) gcShareIn(w window) float64 {
	f, err := os.Open(s.log)
	if err != nil {
		return -1
	}
	defer f.Close()
	cycles := parseGCTrace(f)
	return gcShare(gcCPU(cycles, w.from, w.to), w.cpuTo-w.cpuFrom)
}

// startupWindow is the window from exec to listening.
func (s *spawned) startupWindow() window {
	return window{to: s.startup, cpuTo: s.startupCPU, statFrom: s.stat0, statTo: s.statUp}
}
