package console

import (
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/provisiond/provisiond/inventory"
)

func TestHubPublishNeverBlocksOnASlowSubscriber(t *testing.T) {
	h := NewHub(16, 4)
	stuck, err := h.Subscribe("", "") // never reads
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	reader, err := h.Subscribe("", "")
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	const n = 10_000
	var read atomic.Int64
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-reader.C():
				read.Add(1)
			case <-stop:
				return
			}
		}
	}()
	defer close(stop)
	done := make(chan struct{})
	go func() {
		// Publish as fast as it can; the reader keeps up only partly.
		for i := range n {
			h.Publish(Event{MAC: "52:54:00:00:00:01", Status: 200 + i%2})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Publish blocked on a subscriber that does not read")
	}
	if d := stuck.TakeDropped(); d != n-16 {
		t.Errorf("the stuck subscriber: %d dropped, want %d", d, n-16)
	}
	if len(stuck.C()) != 16 {
		t.Errorf("the stuck subscriber holds %d events, want its queue of 16", len(stuck.C()))
	}
	// Every event reached the reader or was counted as dropped for it.
	readerDropped := reader.TakeDropped()
	deadline := time.Now().Add(30 * time.Second)
	for uint64(read.Load())+readerDropped != n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := uint64(read.Load()) + readerDropped; got != n {
		t.Errorf("the reader: %d read + %d dropped, want %d", read.Load(), readerDropped, n)
	}
	if total := h.Dropped(); total != (n-16)+readerDropped {
		t.Errorf("hub dropped %d, want %d + %d", total, n-16, readerDropped)
	}
}

func TestHubPublishDoesNotAllocate(t *testing.T) {
	h := NewHub(4, 8)
	for range 8 {
		s, err := h.Subscribe("", "")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
	}
	e := Event{Time: time.Now(), MAC: "52:54:00:00:00:01", Endpoint: "/ipxe", Group: "worker", Profile: "worker", Remote: "10.0.0.9:1234", Status: 200}
	if n := testing.AllocsPerRun(1000, func() { h.Publish(e) }); n != 0 {
		t.Errorf("Publish allocates %v times per call", n)
	}
	tee := h.Tee(nil)
	ie := inventory.Event{Time: e.Time, Endpoint: "/ipxe", Status: 200}
	if n := testing.AllocsPerRun(1000, func() { tee.Record("52:54:00:00:00:01", "", ie) }); n != 0 {
		t.Errorf("Tee.Record allocates %v times per call", n)
	}
}

func TestHubFiltersByMachine(t *testing.T) {
	h := NewHub(8, 8)
	byMAC, _ := h.Subscribe("52:54:00:00:00:01", "")
	byUUID, _ := h.Subscribe("", "11111111-2222-3333-4444-555555555555")
	all, _ := h.Subscribe("", "")
	h.Publish(Event{MAC: "52:54:00:00:00:01", Endpoint: "/ipxe"})
	h.Publish(Event{MAC: "52:54:00:00:00:02", Endpoint: "/ipxe"})
	h.Publish(Event{UUID: "11111111-2222-3333-4444-555555555555", Endpoint: "/ignition"})
	if len(byMAC.C()) != 1 || len(byUUID.C()) != 1 || len(all.C()) != 3 {
		t.Errorf("queued: by mac %d, by uuid %d, all %d; want 1, 1, 3", len(byMAC.C()), len(byUUID.C()), len(all.C()))
	}
	if e := <-byUUID.C(); e.Endpoint != "/ignition" {
		t.Errorf("the uuid subscriber got %+v", e)
	}
}

func TestHubBoundsSubscribers(t *testing.T) {
	h := NewHub(1, 2)
	a, _ := h.Subscribe("", "")
	if _, err := h.Subscribe("", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe("", ""); err != ErrTooManySubscribers {
		t.Fatalf("third subscriber: %v", err)
	}
	a.Close()
	a.Close() // twice is fine
	if _, err := h.Subscribe("", ""); err != nil {
		t.Errorf("after a Close: %v", err)
	}
	if h.Subscribers() != 2 {
		t.Errorf("%d subscribers", h.Subscribers())
	}
	var nilHub *Hub
	nilHub.Publish(Event{}) // a console without live activity
	if _, err := nilHub.Subscribe("", ""); err == nil {
		t.Error("a nil hub took a subscriber")
	}
}

// TestHubConcurrent publishes from many goroutines while subscribers come
// and go (run with -race).
func TestHubConcurrent(t *testing.T) {
	h := NewHub(8, 64)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s, err := h.Subscribe("", "")
				if err != nil {
					continue
				}
				for range 3 {
					select {
					case <-s.C():
					default:
					}
				}
				s.Close()
			}
		}()
	}
	var pub sync.WaitGroup
	for range 8 {
		pub.Add(1)
		go func() {
			defer pub.Done()
			for range 5000 {
				h.Publish(Event{MAC: "52:54:00:00:00:01"})
			}
		}()
	}
	pub.Wait()
	close(stop)
	wg.Wait()
	if h.Subscribers() != 0 {
		t.Errorf("%d subscribers left", h.Subscribers())
	}
}

// BenchmarkPublish is the boot path's share of the live views: one
// Publish with no subscriber, with subscribers that keep up, and with
// subscribers whose queues are full (every event dropped for them).
func BenchmarkPublish(b *testing.B) {
	e := Event{Time: time.Now(), MAC: "52:54:00:00:00:01", Endpoint: "/ipxe", Group: "worker", Profile: "worker", Status: 200}
	for _, tc := range []struct {
		name  string
		n     int
		drain bool
	}{{"subscribers=0", 0, false}, {"reading=16", 16, true}, {"stuck=1", 1, false}, {"stuck=64", 64, false}} {
		b.Run(tc.name, func(b *testing.B) {
			h := NewHub(256, 64)
			stop := make(chan struct{})
			defer close(stop)
			for range tc.n {
				s, _ := h.Subscribe("", "")
				defer s.Close()
				if tc.drain {
					go func() {
						for {
							select {
							case <-s.C():
							case <-stop:
								return
							}
						}
					}()
				}
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					h.Publish(e)
				}
			})
		})
	}
}

// TestTeeHandsOutRecords: the boot server reaches a machine's record from
// its query cache entry when its recorder hands out records; through the
// console's tee it still does, and every request of the machine, the
// first (RecordHandle) and the later ones (RecordTo), reaches both the
// inventory and the hub.
func TestTeeHandsOutRecords(t *testing.T) {
	r := newRig(t, Config{})
	if _, ok := r.Hub.Tee(r.Rec).(interface {
		RecordHandle(mac, uuid string, e inventory.Event) *inventory.Handle
		RecordTo(h *inventory.Handle, e inventory.Event)
	}); !ok {
		t.Fatal("the tee of an *inventory.Recorder hands out no records")
	}
	if _, ok := r.Hub.Tee(nil).(interface {
		RecordTo(h *inventory.Handle, e inventory.Event)
	}); ok {
		t.Fatal("the tee of no recorder claims to hand out records")
	}
	sub, err := r.Hub.Subscribe(node1MAC, "")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	q := url.Values{"mac": {node1MAC}}
	const n = 5
	for range n {
		if code := r.boot(t, "/metadata", q); code != http.StatusOK {
			t.Fatalf("/metadata: %d", code)
		}
	}
	for i := range n {
		select {
		case e := <-sub.C():
			if e.MAC != node1MAC || e.Endpoint != "/metadata" || e.Status != http.StatusOK {
				t.Errorf("event %d: %+v", i, e)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("the hub had %d of the %d requests' events", i, n)
		}
	}
	m, ok := r.Rec.Get(inventory.Key(node1MAC, ""))
	if !ok {
		t.Fatal("no inventory record of the machine")
	}
	seen := 0
	for _, e := range m.Events {
		if e.Endpoint == "/metadata" {
			seen += 1 + e.Repeats
		}
	}
	if seen != n {
		t.Errorf("the inventory counts %d /metadata requests, want %d: %+v", seen, n, m.Events)
	}
}
