package inventory

import (
	"context"
	"testing"
	"time"
)

// BenchmarkPeriodicFlushRepeats1000: a flush of Run's every Interval
// when 1,000 machines have repeated their newest event since the last
// (the storm at steady state): the repeat-only records wait for
// the flush of every RepeatInterval; one in RepeatInterval/Interval (20)
// flushes writes them, as Flush does (BenchmarkFlush1000).
func BenchmarkPeriodicFlushRepeats1000(b *testing.B) {
	const n = 1000
	r, hs, t := benchMachines(b, n)
	e := Event{Endpoint: "/ipxe", Group: "g", Profile: "p", Remote: "10.0.15.1:5000", Status: 200, Hardware: Hardware{Serial: "S", Arch: "x86_64"}}
	for _, h := range hs { // the run of repeats starts
		e.Time = t
		r.RecordTo(h, e)
	}
	r.Flush(context.Background())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e.Time = t.Add(time.Duration(i+1) * time.Millisecond)
		for _, h := range hs {
			r.RecordTo(h, e)
		}
		b.StartTimer()
		if err := r.flush(context.Background(), i%20 == 19); err != nil {
			b.Fatal(err)
		}
	}
}
