package main

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// cpuTimes is what /proc/stat counts, in clock ticks, for a set of CPUs:
// all their time, and the part of it the hypervisor ran something else
// while a CPU of this machine had work (steal). On a virtual machine
// whose host is busy, steal is time the server wanted the core and did
// not get it: a window with much of it measured the host, not the
// server.
type cpuTimes struct {
	total, steal uint64
	ok           bool
}

// procStat is the file readCPUTimes reads.
var procStat = "/proc/stat"

// cpuTimesNow is readCPUTimes for the steady state's windows (a test's
// seam).
var cpuTimesNow = readCPUTimes

// readCPUTimes sums /proc/stat's lines of the CPUs in cpus ("cpu0",
// "cpu1", ...), or its "cpu" line (every CPU) when cpus is empty. ok is
// false when the file cannot be read or names none of them.
func readCPUTimes(cpus []int) cpuTimes {
	data, err := os.ReadFile(procStat)
	if err != nil {
		return cpuTimes{}
	}
	return parseCPUTimes(data, cpus)
}

func parseCPUTimes(data []byte, cpus []int) cpuTimes {
	want := map[string]bool{}
	for _, c := range cpus {
		want["cpu"+strconv.Itoa(c)] = true
	}
	if len(want) == 0 {
		want["cpu"] = true
	}
	var t cpuTimes
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 9 || !want[f[0]] {
			continue
		}
		// user nice system idle iowait irq softirq steal [guest guest_nice]:
		// guest time is counted in user and nice already.
		var sum uint64
		for i, s := range f[1:9] {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return cpuTimes{}
			}
			sum += v
			if i == 7 {
				t.steal += v
			}
		}
		t.total += sum
		t.ok = true
	}
	return t
}

// stealShare is the share of the CPUs' time stolen between a and b, 0 to
// 1; -1 when unknown (either unread, or no tick between them).
func stealShare(a, b cpuTimes) float64 {
	if !a.ok || !b.ok || b.total <= a.total || b.steal < a.steal {
		return -1
	}
	return min(1, float64(b.steal-a.steal)/float64(b.total-a.total))
}

// parseCPUList parses a taskset CPU list ("0", "0-1", "0,2-3"); nil for
// an empty or unreadable one (then every CPU is taken).
func parseCPUList(s string) []int {
	var out []int
	for part := range strings.SplitSeq(strings.TrimSpace(s), ",") {
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil
			}
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	return out
}
