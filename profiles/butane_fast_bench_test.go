package profiles

import (
	"fmt"
	"testing"
)

// BenchmarkIgnitionRender is one storm machine's /ignition work in
// profiles: render its Butane template and translate it (slow), or render
// the marked template and fill its shape (fast). Every iteration is a new
// machine (its own hostname, mac and address); the shape is built before
// the timer starts.
func BenchmarkIgnitionRender(b *testing.B) {
	for _, name := range []string{"slow", "fast"} {
		b.Run(name+"/matchbox", func(b *testing.B) {
			tm := mustCompile(b, fastMatchbox)
			if !fastVsSlow(b, tm, matchboxData(0, "node-000000")) {
				b.Fatal("the fast path declined")
			}
			data := make([]map[string]any, 1024)
			for i := range data {
				data[i] = matchboxData(i, fmt.Sprintf("node-%06d", i))
			}
			b.ReportAllocs()
			cpu0 := processCPU()
			i := 0
			for b.Loop() {
				d := data[i%len(data)]
				i++
				if name == "fast" {
					if _, ok := tm.FastIgnition(d, 0, -1); !ok {
						b.Fatal("declined")
					}
					continue
				}
				src, err := tm.Execute(d, 0)
				if err != nil {
					b.Fatal(err)
				}
				if _, ws, err := ButaneToIgnition(src); err != nil || len(ws) > 0 {
					b.Fatal(ws, err)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
