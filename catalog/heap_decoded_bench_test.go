package catalog_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/metrics"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/internal/catalogen"
	"github.com/provisiond/provisiond/ipam"
)

// BenchmarkServedHeap is BenchmarkSnapshotHeap for the heap a server
// holds: every group written as JSON and read back with groups.Decode,
// as a load from a directory or from the database does, then compiled.
// Besides live-MiB and live-objects it reports gc-cpu-ms, the median
// CPU time (the process's, so that other processes on a shared machine
// do not count) of a full collection with the snapshot reachable: the
// marking that every cycle of a serving process pays for the catalog,
// and that on one core delays requests; and scan-MiB, the heap the last
// collection had to scan for pointers (the runtime's
// /gc/scan/heap:bytes, the whole process's).
//
//	go test -run '^$' -bench ServedHeap -benchtime 1x -cpu 1 ./catalog/
func BenchmarkServedHeap(b *testing.B) {
	for _, shape := range []catalogen.Shape{catalogen.Pooled, catalogen.Matchbox} {
		b.Run(fmt.Sprintf("shape=%s/N=100000", shape), func(b *testing.B) {
			var live, objects, gcms, scan float64
			for b.Loop() {
				heapSink = nil // the last shape's snapshot is not this one's
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				c, err := shape.New(100_000)
				if err != nil {
					b.Fatal(err)
				}
				for id, g := range c.Groups {
					data, err := json.Marshal(g)
					if err != nil {
						b.Fatal(err)
					}
					if c.Groups[id], err = groups.Decode(data); err != nil {
						b.Fatal(err)
					}
				}
				s, _, err := catalog.Compile(c, ipam.NewTable(nil), catalog.Options{})
				if err != nil {
					b.Fatal(err)
				}
				c = nil
				runtime.GC()
				runtime.ReadMemStats(&after)
				var ds []time.Duration
				for range 5 {
					t := cpuTime(b)
					runtime.GC()
					ds = append(ds, cpuTime(b)-t)
				}
				slices.Sort(ds)
				sample := []metrics.Sample{{Name: "/gc/scan/heap:bytes"}}
				metrics.Read(sample)
				scan = float64(sample[0].Value.Uint64()) / (1 << 20)
				heapSink = s
				live = float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
				objects = float64(after.HeapObjects - before.HeapObjects)
				gcms = float64(ds[len(ds)/2]) / float64(time.Millisecond)
			}
			b.ReportMetric(live, "live-MiB")
			b.ReportMetric(objects, "live-objects")
			b.ReportMetric(gcms, "gc-cpu-ms")
			b.ReportMetric(scan, "scan-MiB")
		})
	}
}

// cpuTime returns the CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
