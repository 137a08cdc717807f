package inventory

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// foldEvent is the i-th request of a machine that boots again and
// again: /ipxe, /ignition, /metadata, each a new event (the first two
// move its state), from 10.x.y.z on a new port each.
func foldEvent(t time.Time, i, machine int) Event {
	eps := [...]string{"/ipxe", "/ignition", "/metadata"}
	return Event{Time: t, Endpoint: eps[i%3], Group: "g", Profile: "p", Status: 200,
		Remote:   fmt.Sprintf("10.%d.%d.%d:%d", machine>>16, (machine>>8)&255, machine&255, 40000+i%20000),
		Hardware: Hardware{Serial: "S", Arch: "x86_64"}}
}

// BenchmarkRecordToNewEvent: the boot path's recording of a request
// that is a new event of the machine (its fold, the ring's slot
// overwritten, a change of state two times in three), over 1,000
// machines in turn, through their handles.
func BenchmarkRecordToNewEvent(b *testing.B) { benchmarkRecordToNewEvent(b, 1000) }

// BenchmarkRecordToNewEvent100k: BenchmarkRecordToNewEvent over
// 100,000 machines (a site's fleet, each request a cache miss), in an
// order of their own (not the order their records were made in, which
// the allocator laid out one after the other).
func BenchmarkRecordToNewEvent100k(b *testing.B) { benchmarkRecordToNewEvent(b, 100000) }

func benchmarkRecordToNewEvent(b *testing.B, n int) {
	r, hs, t := benchMachines(b, n)
	if n > 1000 {
		rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { hs[i], hs[j] = hs[j], hs[i] })
	}
	es := make([]Event, 3*n)
	for i := range es {
		es[i] = foldEvent(t, i/n, i%n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := es[i%len(es)]
		e.Time = t.Add(time.Duration(i) * time.Minute) // out of the repeat window
		r.RecordTo(hs[i%n], e)
	}
}

// BenchmarkRecordRepeat: Record (no handle: DHCP, TFTP, the lifecycle's
// reports) of a request that repeats the machine's newest event, over
// 1,000 machines in turn: the record's fast path (repeat.go).
func BenchmarkRecordRepeat(b *testing.B) { benchmarkRecordRepeat(b, 1000) }

// BenchmarkRecordRepeat100k: BenchmarkRecordRepeat over 100,000
// machines, in an order of their own.
func BenchmarkRecordRepeat100k(b *testing.B) { benchmarkRecordRepeat(b, 100000) }

func benchmarkRecordRepeat(b *testing.B, n int) {
	r, _, t := benchMachines(b, n)
	macs := make([]string, n)
	for i := range macs {
		macs[i] = fmt.Sprintf("52:54:00:%02x:%02x:%02x", i>>16, (i>>8)&0xff, i&0xff)
	}
	if n > 1000 {
		rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { macs[i], macs[j] = macs[j], macs[i] })
	}
	e := Event{Endpoint: "/ipxe", Group: "g", Profile: "p", Remote: "10.0.15.1:5000", Status: 200, Hardware: Hardware{Serial: "S", Arch: "x86_64"}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Time = t.Add(time.Duration(i/n) * time.Millisecond)
		r.Record(macs[i%n], "", e)
	}
}

// BenchmarkRecordGet: Get of a machine of MaxEvents events (the admin
// API's and the console's read), over 1,000 machines in turn.
func BenchmarkRecordGet(b *testing.B) {
	const n = 1000
	r, hs, _ := benchMachines(b, n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := r.Get(hs[i%n].MAC()); !ok {
			b.Fatal("no machine")
		}
	}
}

// keptFleet returns the stored JSON of n machines shaped as those of a
// site whose machines have all booted (bootstorm --machines 100000
// --keep's database: 30 % asked once, 69 % booted once and asked for
// their metadata again, 1 % booted three times), as the store holds them.
func keptFleet(n int) [][]byte {
	t0 := time.Date(2026, 12, 1, 13, 49, 26, 331707725, time.UTC)
	out := make([][]byte, n)
	for i := range n {
		mac := fmt.Sprintf("52:54:00:%02x:%02x:%02x", i>>16, (i>>8)&0xff, i&0xff)
		g := fmt.Sprintf("m%06d", i)
		p := []string{"butane", "ignition"}[i%2]
		at := func(s float64) time.Time { return t0.Add(time.Duration(s*1e9) + time.Duration(i)*31337) }
		remote := fmt.Sprintf("127.1.0.%d:%d", i%250, 30000+i%30000)
		m := Machine{Key: mac, MAC: mac, Group: g, Profile: p}
		ev := func(s float64, ep string, st State) Event {
			return Event{Time: at(s), Endpoint: ep, Group: g, Profile: p, Remote: remote, Status: 200, State: st}
		}
		switch {
		case i%100 < 30:
			m.Events = []Event{ev(70, "/metadata", Discovered)}
			m.State = Discovered
		default:
			boots := 1
			if i%100 == 99 {
				boots = 3
			}
			for b := range boots {
				s := float64(b * 20)
				m.Events = append(m.Events, ev(s, "/ipxe", Booting), ev(s+0.03, "/ignition", Configured))
				m.Changes = append(m.Changes, Change{Time: at(s), From: m.State, To: Booting, Cause: "/ipxe"},
					Change{Time: at(s + 0.03), From: Booting, To: Configured, Cause: "/ignition"})
				m.State = Configured
				for k := range 1 + 4*(boots-1) {
					e := ev(s+0.05+float64(k), "/metadata", "")
					e.Remote = fmt.Sprintf("127.0.0.1:%d", 40000+k+b)
					m.Events = append(m.Events, e)
				}
			}
			m.Hardware = &Hardware{Arch: "x86_64"}
		}
		if len(m.Events) > MaxEvents {
			m.Events = m.Events[len(m.Events)-MaxEvents:]
		}
		m.FirstSeen, m.LastSeen, m.LastEndpoint = m.Events[0].Time, m.Events[len(m.Events)-1].Time, m.Events[len(m.Events)-1].Endpoint
		var err error
		if out[i], err = m.AppendJSON(nil); err != nil {
			panic(err)
		}
	}
	return out
}

// BenchmarkLoadedBytesPerMachine: the heap a Recorder holds per machine
// of a site whose machines have all booted (keptFleet), loaded from
// their stored JSON (json.Unmarshal, as the store decodes them): B/machine.
func BenchmarkLoadedBytesPerMachine(b *testing.B) {
	const n = 20000
	stored := keptFleet(n)
	var per float64
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ms := make([]Machine, n)
		for i := range ms {
			if err := json.Unmarshal(stored[i], &ms[i]); err != nil {
				b.Fatal(err)
			}
		}
		r := NewRecorder(nopSaver{}, ms, nil)
		ms = nil
		runtime.GC()
		runtime.ReadMemStats(&after)
		per = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(r)
	}
	b.ReportMetric(per, "B/machine")
}

// BenchmarkNewRecorderKeptFleet: NewRecorder of 20,000 machines of a site
// whose machines have all booted (keptFleet), already decoded: a
// restart's work per machine beside the decoding.
func BenchmarkNewRecorderKeptFleet(b *testing.B) {
	const n = 20000
	stored := keptFleet(n)
	ms := make([]Machine, n)
	for i := range ms {
		if err := json.Unmarshal(stored[i], &ms[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		NewRecorder(nopSaver{}, ms, nil)
	}
}
