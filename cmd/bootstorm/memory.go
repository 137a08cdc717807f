package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// boundStop says why the memory watchdog stopped a server. It is also the
// error of whatever the server was doing when it was stopped.
type boundStop struct {
	RSSMiB   float64 // the server's resident memory when it was stopped
	AvailMiB float64 // the host's MemAvailable then
	Reason   string
}

func (b *boundStop) Error() string {
	return fmt.Sprintf("stopped at %s: %s", gib(b.RSSMiB), b.Reason)
}

func gib(mib float64) string { return fmt.Sprintf("%.1f GiB", mib/1024) }

// checkBound decides whether a server of rssMiB must be stopped on a host
// with availMiB available (0: unknown), for the bounds maxRSS and minAvail
// (MiB; 0: none).
func checkBound(rssMiB, availMiB, maxRSS, minAvail float64) *boundStop {
	switch {
	case maxRSS > 0 && rssMiB > maxRSS:
		return &boundStop{RSSMiB: rssMiB, AvailMiB: availMiB,
			Reason: fmt.Sprintf("resident memory above --max-rss %s", gib(maxRSS))}
	case minAvail > 0 && availMiB > 0 && availMiB < minAvail:
		return &boundStop{RSSMiB: rssMiB, AvailMiB: availMiB,
			Reason: fmt.Sprintf("the host's available memory %s under --min-available %s", gib(availMiB), gib(minAvail))}
	}
	return nil
}

// watch samples the server's resident memory and the host's available
// memory every 50 ms while it runs, and stops it with SIGKILL the moment
// either bound is crossed, so that a run at a million machines cannot
// take the memory of a machine shared with other people's work.
func (s *spawned) watch(maxRSS, minAvail float64) {
	if maxRSS <= 0 && minAvail <= 0 {
		return
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.exited:
			return
		case <-t.C:
		}
		if b := checkBound(s.rss(), memAvailableMiB(), maxRSS, minAvail); b != nil {
			s.bound.Store(b)
			s.cmd.Process.Signal(syscall.SIGKILL)
			return
		}
	}
}

// memAvailableMiB is the host's MemAvailable (/proc/meminfo) in MiB; 0
// when unknown.
func memAvailableMiB() float64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	return meminfoField(string(data), "MemAvailable:")
}

func meminfoField(meminfo, field string) float64 {
	for _, line := range strings.Split(meminfo, "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				return 0
			}
			return kb / 1024
		}
	}
	return 0
}

// parseMiB parses a memory size: a number of bytes, or with a suffix
// KiB, MiB, GiB (or K, M, G, powers of 1024), into MiB; "0" is none.
func parseMiB(s string) (float64, error) {
	t := strings.TrimSpace(s)
	mult := 1.0 / (1 << 20)
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"GiB", 1024}, {"MiB", 1}, {"KiB", 1.0 / 1024}, {"G", 1024}, {"M", 1}, {"K", 1.0 / 1024}} {
		if v, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(v), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%q: want a size such as 12GiB, 500MiB or 0 for none", s)
	}
	return f * mult, nil
}
