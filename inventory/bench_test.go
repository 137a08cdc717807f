package inventory

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// nopSaver writes nothing: the benchmarks measure the recorder.
type nopSaver struct{}

func (nopSaver) SaveMachines(context.Context, []Machine) error { return nil }

// benchMachines returns a recorder of n machines with MaxEvents events
// each (distinct: the ring full) and a handle of each.
func benchMachines(b *testing.B, n int) (*Recorder, []*Handle, time.Time) {
	r := NewRecorder(nopSaver{}, nil, nil)
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	hs := make([]*Handle, n)
	for i := range n {
		mac := fmt.Sprintf("52:54:00:%02x:%02x:%02x", i>>16, (i>>8)&0xff, i&0xff)
		for j := range MaxEvents {
			e := Event{Time: t0.Add(time.Duration(j) * time.Hour), Endpoint: "/ipxe", Group: "g", Profile: "p",
				Remote: fmt.Sprintf("10.0.%d.%d:4000", j, i%256), Status: 200, Hardware: Hardware{Serial: "S", Arch: "x86_64"}}
			if hs[i] == nil {
				hs[i] = r.RecordHandle(mac, "", e)
			} else {
				r.RecordTo(hs[i], e)
			}
		}
	}
	if err := r.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	return r, hs, t0.Add(MaxEvents * time.Hour)
}

// BenchmarkRecordToRepeat: the boot path's recording of a request that
// repeats the machine's newest event (a machine in a boot loop), over
// 1,000 machines in turn, as bootstorm and the wrk run send them.
func BenchmarkRecordToRepeat(b *testing.B) {
	const n = 1000
	r, hs, t := benchMachines(b, n)
	e := Event{Endpoint: "/ipxe", Group: "g", Profile: "p", Remote: "10.0.15.1:5000", Status: 200, Hardware: Hardware{Serial: "S", Arch: "x86_64"}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Time = t.Add(time.Duration(i/n) * time.Millisecond)
		r.RecordTo(hs[i%n], e)
	}
}

// BenchmarkFlush1000: Flush of 1,000 changed machines of MaxEvents
// events each (what every flush of the storm wrote), to a store
// that writes nothing: the copies, their sorting and chunking.
func BenchmarkFlush1000(b *testing.B) {
	const n = 1000
	r, hs, t := benchMachines(b, n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for j, h := range hs {
			// a new event each: a change, written by every flush
			r.RecordTo(h, Event{Time: t.Add(time.Duration(i) * time.Hour), Endpoint: "/ipxe", Group: "g", Profile: "p",
				Remote: fmt.Sprintf("10.1.%d.%d:4000", i%256, j%256), Status: 200})
		}
		b.StartTimer()
		if err := r.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
