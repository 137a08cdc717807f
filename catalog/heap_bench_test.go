package catalog_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/internal/catalogen"
	"github.com/provisiond/provisiond/ipam"
)

// heapSink keeps BenchmarkSnapshotHeap's last snapshot reachable, so
// that -memprofile shows what it holds.
var heapSink *catalog.Snapshot

// BenchmarkSnapshotHeap reports the live heap a compiled catalog holds
// (live-MiB: the heap after a collection with the snapshot reachable,
// less the heap before the catalog was generated), at 100,000 machines
// of both generated shapes. The live heap is what the garbage collector
// marks on every cycle; on one core it is the largest cost of serving.
func BenchmarkSnapshotHeap(b *testing.B) {
	for _, shape := range []catalogen.Shape{catalogen.Pooled, catalogen.Matchbox} {
		b.Run(fmt.Sprintf("shape=%s/N=100000", shape), func(b *testing.B) {
			var live, objects float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				c, err := shape.New(100_000)
				if err != nil {
					b.Fatal(err)
				}
				s, _, err := catalog.Compile(c, ipam.NewTable(nil), catalog.Options{})
				if err != nil {
					b.Fatal(err)
				}
				c = nil
				runtime.GC()
				runtime.ReadMemStats(&after)
				heapSink = s // kept for -memprofile
				live = float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
				objects = float64(after.HeapObjects - before.HeapObjects)
			}
			b.ReportMetric(live, "live-MiB")
			b.ReportMetric(objects, "live-objects")
		})
	}
}
