package inventory

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

// last returns the newest version of each machine the saver was given.
func (s *saver) last() map[string]Machine {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Machine{}
	for _, b := range s.batches {
		for _, m := range b {
			out[m.Key] = m
		}
	}
	return out
}

func (s *saver) writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range s.batches {
		n += len(b)
	}
	return n
}

// TestRepeatOnlyRecordsWrittenLater: a record whose only change is a
// repeat is left by the flushes of every Interval and written by the one
// with repeats (every RepeatInterval); any other change, of it or of its
// machine, is written at the next flush; Flush writes everything.
func TestRepeatOnlyRecordsWrittenLater(t *testing.T) {
	s := &saver{}
	r := NewRecorder(s, nil, nil)
	const a, b = "52:54:00:00:00:01", "52:54:00:00:00:02"
	e := ev("/ipxe", 200, "g")
	r.Record(a, "", e)
	r.Record(a, "", e)
	r.Record(b, "", e)
	if err := r.flush(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if n := s.writes(); n != 2 {
		t.Fatalf("%d machines written, want 2", n)
	}
	// a: repeats only; b: a new event
	for range 3 {
		e.Time = time.Now()
		r.Record(a, "", e)
	}
	r.Record(b, "", ev("/ignition", 200, "g"))
	if err := r.flush(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if len(s.batches) != 2 || len(s.batches[1]) != 1 || s.batches[1][0].Key != b {
		t.Fatalf("the flush without repeats wrote %v", s.batches[1:])
	}
	if err := r.flush(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	want, _ := r.Get(a)
	if len(s.batches) != 3 || len(s.batches[2]) != 1 || !reflect.DeepEqual(s.batches[2][0], want) || want.Events[1].Repeats != 3 {
		t.Fatalf("the flush with repeats wrote %+v, want %+v", s.batches[2:], want)
	}
	// A repeat, then a change: written at the next flush, all of it.
	e.Time = time.Now()
	r.Record(a, "", e)
	if err := r.flush(t.Context(), false); err != nil || len(s.batches) != 3 {
		t.Fatalf("a repeat was written at once (%v)", err)
	}
	if _, err := r.Apply(a, "", Event{Endpoint: EndpointOperator, State: Installed}); err != nil {
		t.Fatal(err)
	}
	if err := r.flush(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	want, _ = r.Get(a)
	if len(s.batches) != 4 || !reflect.DeepEqual(s.batches[3], []Machine{want}) || want.Events[1].Repeats != 4 {
		t.Fatalf("after a change: %+v, want %+v", s.batches[3:], want)
	}
	// Flush writes repeats.
	e.Time = time.Now()
	e.LocalBoot = true
	r.Record(a, "", e)
	r.Record(a, "", e)
	if err := r.flush(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	e.Time = time.Now()
	r.Record(a, "", e)
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	want, _ = r.Get(a)
	if got := s.last()[a]; !reflect.DeepEqual(got, want) || want.Events[len(want.Events)-1].Repeats != 2 {
		t.Fatalf("Flush wrote %+v, want %+v", got, want)
	}
	n := s.writes()
	if err := r.Flush(t.Context()); err != nil || s.writes() != n {
		t.Fatalf("a flush with nothing changed wrote %d machines (%v)", s.writes()-n, err)
	}
}

// TestRunWritesRepeats: Run writes a repeat-only record within
// RepeatInterval, and its final flush writes the repeats that its
// periodic flushes left.
func TestRunWritesRepeats(t *testing.T) {
	s := &saver{}
	r := NewRecorder(s, nil, nil)
	r.Interval, r.RepeatInterval = 5*time.Millisecond, 20*time.Millisecond
	const mac = "52:54:00:00:00:01"
	e := ev("/ipxe", 200, "g")
	r.Record(mac, "", e)
	r.Record(mac, "", e)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	written := func(repeats int) bool {
		m, ok := s.last()[mac]
		return ok && len(m.Events) == 2 && m.Events[1].Repeats == repeats
	}
	for deadline := time.Now().Add(30 * time.Second); !written(0); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the record was not written: %v", s.last())
		}
	}
	e.Time = time.Now()
	r.Record(mac, "", e)
	for deadline := time.Now().Add(30 * time.Second); !written(1); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the repeat was not written within 30 s: %v", s.last())
		}
	}
	cancel()
	<-done

	// Repeats every hour: the periodic flushes leave the repeat, a change
	// of another machine is written, the final flush writes the repeat.
	r.RepeatInterval = time.Hour
	ctx, cancel = context.WithCancel(t.Context())
	done = make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	e.Time = time.Now()
	r.Record(mac, "", e)
	r.Record("52:54:00:00:00:02", "", ev("/ipxe", 200, "g"))
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, ok := s.last()["52:54:00:00:00:02"]; ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other machine was not written within 30 s")
		}
	}
	if written(2) {
		t.Fatal("a flush of every Interval wrote a repeat (RepeatInterval is an hour)")
	}
	cancel()
	<-done
	if !written(2) {
		t.Fatalf("the final flush left the repeat: %+v", s.last()[mac])
	}
}

// blockingSaver holds its first SaveMachines until release is closed.
type blockingSaver struct {
	saver
	once    sync.Once
	started chan struct{}
	release chan struct{}
}

func (s *blockingSaver) SaveMachines(ctx context.Context, ms []Machine) error {
	s.once.Do(func() { close(s.started); <-s.release })
	return s.saver.SaveMachines(ctx, ms)
}

// TestRecordDuringAFlush: requests recorded while a flush is under way
// (machines of it already copied, and machines not yet copied) are not
// lost: each machine's last write, after the next flush, is its record.
// The flush copies its records a batch at a time, so a request is not
// held for the copy of all of them.
func TestRecordDuringAFlush(t *testing.T) {
	s := &blockingSaver{started: make(chan struct{}), release: make(chan struct{})}
	r := NewRecorder(s, nil, nil)
	const n = 3*flushChunk + 7
	mac := func(i int) string { return fmt.Sprintf("52:54:00:00:%02x:%02x", i/256, i%256) }
	for i := range n {
		r.Record(mac(i), "", ev("/ipxe", 200, "g"))
	}
	errc := make(chan error, 1)
	go func() { errc <- r.Flush(context.Background()) }()
	<-s.started // the first chunk copied, its write held
	for i := range n {
		e := ev("/ipxe", 200, "g")
		r.Record(mac(i), "", e) // a repeat
		if i%2 == 0 {
			r.Record(mac(i), "", ev("/ignition", 200, "g"))
		}
	}
	close(s.release)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := s.last()
	for _, want := range r.List() {
		if !reflect.DeepEqual(got[want.Key], want) {
			t.Fatalf("%s: last written\n%+v\nwant\n%+v", want.Key, got[want.Key], want)
		}
	}
	if len(got) != n {
		t.Fatalf("%d machines written, want %d", len(got), n)
	}
}

// TestFlushRacesRecord: records from several goroutines while flushes
// run (with and without repeats); after a last Flush every machine's last
// write is its record. Run with -race.
func TestFlushRacesRecord(t *testing.T) {
	s := &saver{}
	r := NewRecorder(s, nil, nil)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			r.flush(context.Background(), i%3 == 0)
		}
	}()
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				mac := fmt.Sprintf("52:54:00:00:%02x:%02x", g, i%150)
				ep := "/ipxe"
				if i%7 == 0 {
					ep = "/metadata"
				}
				r.Record(mac, "", ev(ep, 200, "g"))
			}
		}()
	}
	wg.Wait()
	close(stop)
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := s.last()
	for _, want := range r.List() {
		if !reflect.DeepEqual(got[want.Key], want) {
			t.Fatalf("%s: last written\n%+v\nwant\n%+v", want.Key, got[want.Key], want)
		}
	}
}

// TestFlushRetriesEveryMachineAfterAnError: a storage error in the middle
// of a flush leaves the machines of the failed chunk and of the chunks
// after it, repeat-only ones included, to the next flush.
func TestFlushRetriesEveryMachineAfterAnError(t *testing.T) {
	// the first flush writes 4 chunks; the second fails at its third
	s := &failingSaver{call: 4 + 3}
	r := NewRecorder(s, nil, nil)
	const n = 4 * flushChunk
	mac := func(i int) string { return fmt.Sprintf("52:54:00:00:%02x:%02x", i/256, i%256) }
	for i := range n {
		r.Record(mac(i), "", ev("/ipxe", 200, "g"))
		r.Record(mac(i), "", ev("/ipxe", 200, "g"))
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		r.Record(mac(i), "", ev("/ipxe", 200, "g")) // repeats only
	}
	if err := r.Flush(t.Context()); err == nil {
		t.Fatal("no error from a failing store")
	}
	if w := s.writes(); w != n+2*flushChunk {
		t.Fatalf("%d machines written, want %d", w, n+2*flushChunk)
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := s.last()
	for _, want := range r.List() {
		if !reflect.DeepEqual(got[want.Key], want) {
			t.Fatalf("%s: last written\n%+v\nwant\n%+v", want.Key, got[want.Key], want)
		}
	}
}

// failingSaver fails its call'th SaveMachines (counting from 1), and
// only that one.
type failingSaver struct {
	saver
	calls, call int
}

func (s *failingSaver) SaveMachines(ctx context.Context, ms []Machine) error {
	if s.calls++; s.calls == s.call {
		return fmt.Errorf("disk full")
	}
	return s.saver.SaveMachines(ctx, ms)
}
