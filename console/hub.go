package console

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/provisiond/provisiond/inventory"
)

// Event is one boot event as the console shows it live.
type Event struct {
	Time     time.Time
	MAC      string
	UUID     string
	Endpoint string
	Group    string
	Profile  string
	Remote   string
	Status   int
}

// ErrTooManySubscribers is returned by Subscribe when MaxSubscribers are
// already attached.
var ErrTooManySubscribers = errors.New("too many live subscribers")

// Hub fans boot events out to the browsers watching them. Publish never
// blocks and never allocates: each subscriber has a bounded queue, and an
// event that does not fit is dropped for that subscriber and counted.
// The zero Hub is not usable; call NewHub. A nil *Hub drops everything.
type Hub struct {
	queue int
	max   int

	// subs is replaced, never modified, so Publish reads it without a
	// lock; mu serializes Subscribe and Close.
	subs atomic.Pointer[[]*Subscription]
	mu   sync.Mutex
	// closedDropped is what the closed subscriptions dropped; Dropped
	// adds the open ones', so Publish writes only to the subscription it
	// drops for, never to a counter every publisher shares.
	closedDropped atomic.Uint64
}

// Hub defaults.
const (
	// DefaultQueue is the events a subscriber may fall behind by before
	// events are dropped for it.
	DefaultQueue = 256
	// DefaultMaxSubscribers bounds the live views open at once, so the
	// boot path's fan-out stays bounded too.
	DefaultMaxSubscribers = 64
)

// NewHub returns a hub whose subscribers each queue up to queue events
// (0: DefaultQueue), at most maxSubs of them at once (0:
// DefaultMaxSubscribers).
func NewHub(queue, maxSubs int) *Hub {
	if queue <= 0 {
		queue = DefaultQueue
	}
	if maxSubs <= 0 {
		maxSubs = DefaultMaxSubscribers
	}
	h := &Hub{queue: queue, max: maxSubs}
	h.subs.Store(&[]*Subscription{})
	return h
}

// Subscription is one live view's queue of events.
type Subscription struct {
	hub  *Hub
	c    chan Event
	mac  string
	uuid string
	// dropped counts every event dropped for this subscriber; taken is
	// what TakeDropped has reported of it (touched by the reader only).
	dropped atomic.Uint64
	taken   uint64
	once    sync.Once
}

// Subscribe attaches a subscriber. With mac or uuid set, it receives only
// the events of that machine (either matching); with neither, every event.
// It returns ErrTooManySubscribers beyond the hub's bound.
func (h *Hub) Subscribe(mac, uuid string) (*Subscription, error) {
	if h == nil {
		return nil, ErrTooManySubscribers
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	cur := *h.subs.Load()
	if len(cur) >= h.max {
		return nil, ErrTooManySubscribers
	}
	s := &Subscription{hub: h, c: make(chan Event, h.queue), mac: mac, uuid: uuid}
	next := make([]*Subscription, len(cur), len(cur)+1)
	copy(next, cur)
	next = append(next, s)
	h.subs.Store(&next)
	return s, nil
}

// C returns the subscription's events.
func (s *Subscription) C() <-chan Event { return s.c }

// TakeDropped returns the events dropped for this subscriber since the
// last call. Only the subscription's reader may call it.
func (s *Subscription) TakeDropped() uint64 {
	d := s.dropped.Load()
	n := d - s.taken
	s.taken = d
	return n
}

// Close detaches the subscription. It is safe to call more than once.
func (s *Subscription) Close() {
	s.once.Do(func() {
		h := s.hub
		h.mu.Lock()
		defer h.mu.Unlock()
		cur := *h.subs.Load()
		next := make([]*Subscription, 0, len(cur))
		for _, o := range cur {
			if o != s {
				next = append(next, o)
			}
		}
		h.subs.Store(&next)
		h.closedDropped.Add(s.dropped.Load())
	})
}

func (s *Subscription) wants(e *Event) bool {
	if s.mac == "" && s.uuid == "" {
		return true
	}
	return (s.mac != "" && e.MAC == s.mac) || (s.uuid != "" && e.UUID == s.uuid)
}

// Publish hands e to every subscriber that wants it, without blocking: a
// subscriber whose queue is full misses the event, and the miss is
// counted (Dropped, and the subscriber's TakeDropped).
func (h *Hub) Publish(e Event) {
	if h == nil {
		return
	}
	for _, s := range *h.subs.Load() {
		if !s.wants(&e) {
			continue
		}
		select {
		case s.c <- e:
		default:
			s.dropped.Add(1)
		}
	}
}

// Subscribers returns the number of attached subscribers.
func (h *Hub) Subscribers() int {
	if h == nil {
		return 0
	}
	return len(*h.subs.Load())
}

// Dropped returns the events dropped for slow subscribers since the hub
// was made.
func (h *Hub) Dropped() uint64 {
	if h == nil {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.closedDropped.Load()
	for _, s := range *h.subs.Load() {
		n += s.dropped.Load()
	}
	return n
}

// Recorder takes boot events for the machine inventory: the interface the
// boot server, DHCP and TFTP record to (server.Recorder and its twins).
type Recorder interface {
	Record(mac, uuid string, e inventory.Event)
}

// Tee returns a Recorder that records to next (when not nil), then
// publishes the event on the hub. Hand it to the boot server, DHCP and
// TFTP in place of the inventory recorder. When next hands out records
// (*inventory.Recorder's RecordHandle and RecordTo, which the boot
// server uses to reach a machine's record from its query cache entry),
// so does the tee: the console on costs the boot path no more than the
// publish.
func (h *Hub) Tee(next Recorder) Recorder {
	if hr, ok := next.(handleRecorder); ok {
		return handleTee{tee: tee{next: next, hub: h}, handles: hr}
	}
	return tee{next: next, hub: h}
}

// handleRecorder is what the boot server asks of a recorder that hands
// out records (server.handleRecorder).
type handleRecorder interface {
	RecordHandle(mac, uuid string, e inventory.Event) *inventory.Handle
	RecordTo(h *inventory.Handle, e inventory.Event)
}

// handleTee is tee over a recorder that hands out records.
type handleTee struct {
	tee
	handles handleRecorder
}

func (t handleTee) RecordHandle(mac, uuid string, e inventory.Event) *inventory.Handle {
	h := t.handles.RecordHandle(mac, uuid, e)
	t.publish(mac, uuid, &e)
	return h
}

func (t handleTee) RecordTo(h *inventory.Handle, e inventory.Event) {
	t.handles.RecordTo(h, e)
	t.publish(h.MAC(), h.UUID(), &e)
}

type tee struct {
	next Recorder
	hub  *Hub
}

func (t tee) Record(mac, uuid string, e inventory.Event) {
	if t.next != nil {
		t.next.Record(mac, uuid, e)
	}
	t.publish(mac, uuid, &e)
}

func (t tee) publish(mac, uuid string, e *inventory.Event) {
	if t.hub.Subscribers() == 0 {
		return // nobody watches: no event to build (every boot request comes here)
	}
	t.hub.Publish(Event{Time: e.Time, MAC: mac, UUID: uuid, Endpoint: e.Endpoint, Group: e.Group, Profile: e.Profile, Remote: e.Remote, Status: e.Status})
}
