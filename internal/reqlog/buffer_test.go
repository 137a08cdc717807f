package reqlog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// recWriter records each Write whole, safe for the timer's goroutine.
type recWriter struct {
	mu     sync.Mutex
	writes []string
	err    error
}

func (w *recWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

func (w *recWriter) snapshot() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.writes...)
}

func (w *recWriter) all() string { return strings.Join(w.snapshot(), "") }

func bufferedHandler(w io.Writer, json bool, delay time.Duration) (*Handler, *slog.Logger) {
	h := newHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}, json).(*Handler)
	h.Buffer(delay)
	return h, slog.New(h)
}

func testRequest(i int) Request {
	return Request{Method: "GET", Path: "/ipxe", Status: 200 + i%3, Duration: time.Duration(i) * time.Microsecond,
		Remote: "127.0.0.1:1", MAC: "52:54:00:89:d8:10", Group: "g", Profile: "p"}
}

// TestBufferSameBytes: held request lines, written together, are the
// bytes the same lines written one by one make, in the same order, with
// the ordinary lines between them where they were logged.
func TestBufferSameBytes(t *testing.T) {
	at := time.Date(2026, 12, 2, 3, 4, 5, 6, time.UTC)
	for _, json := range []bool{false, true} {
		var one, held recWriter
		h1, log1 := bufferedHandler(&one, json, 0)
		h2, log2 := bufferedHandler(&held, json, time.Hour)
		for i := range 1000 {
			for _, p := range []struct {
				h   *Handler
				log *slog.Logger
			}{{h1, log1}, {h2, log2}} {
				if i%97 == 0 {
					p.log.Warn("between", "i", i)
				}
				p.h.LogRequest(context.Background(), at.Add(time.Duration(i)*time.Millisecond), slog.LevelInfo, testRequest(i))
			}
		}
		if err := h2.Flush(); err != nil {
			t.Fatal(err)
		}
		if a, b := stripOrdinaryTimes(one.all()), stripOrdinaryTimes(held.all()); a != b {
			t.Fatalf("json=%v: held lines differ from lines written at once", json)
		}
		if n, m := len(one.snapshot()), len(held.snapshot()); m*5 > n {
			t.Errorf("json=%v: %d writes held against %d at once: not written together", json, m, n)
		}
		for _, w := range held.snapshot() {
			if len(w) > maxHeld+1024 {
				t.Errorf("json=%v: a write of %d bytes, held past %d", json, len(w), maxHeld)
			}
		}
	}
}

// stripOrdinaryTimes drops the time of the "between" lines, which slog
// takes when they are logged.
func stripOrdinaryTimes(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if j := strings.Index(l, "between"); j >= 0 {
			lines[i] = l[j:]
		}
	}
	return strings.Join(lines, "\n")
}

// TestBufferHoldsUntilDelay: a request line is held, not written, until
// its delay passes or another record is logged; then it is written
// before that record.
func TestBufferHoldsUntilDelay(t *testing.T) {
	var w recWriter
	h, log := bufferedHandler(&w, false, time.Hour)
	h.LogRequest(context.Background(), time.Now(), slog.LevelInfo, testRequest(1))
	if got := w.snapshot(); len(got) != 0 {
		t.Fatalf("written at once with an hour's delay: %q", got)
	}
	log.Error("disk full", "path", "/var/lib/x")
	got := w.snapshot()
	if len(got) != 2 || !strings.Contains(got[0], "msg=request") || !strings.Contains(got[1], "disk full") {
		t.Fatalf("writes %q, want the request line then the error", got)
	}
	// An error-level request line (a 500) is held as any other.
	h.LogRequest(context.Background(), time.Now(), slog.LevelError, testRequest(2))
	if n := len(w.snapshot()); n != 2 {
		t.Fatalf("%d writes after a held error-level request line, want 2", n)
	}
	if err := h.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := w.snapshot(); len(got) != 3 || !strings.Contains(got[2], "level=ERROR msg=request") {
		t.Fatalf("after Flush: %q", got)
	}
}

// TestBufferTimer: with no other record to push it out, a held line is
// written by the delay's timer.
func TestBufferTimer(t *testing.T) {
	var w recWriter
	h, _ := bufferedHandler(&w, true, 20*time.Millisecond)
	for round := range 3 {
		h.LogRequest(context.Background(), time.Now(), slog.LevelInfo, testRequest(round))
		deadline := time.Now().Add(10 * time.Second) // generous: the timer may wait for a busy CPU
		for strings.Count(w.all(), `"msg":"request"`) < round+1 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the held line was not written within 10 s of a 20 ms delay", round)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// TestBufferWriteError: lines whose write fails are dropped, not held
// for ever; the error reaches Flush; an ordinary record is still written
// when the held lines' write failed.
func TestBufferWriteError(t *testing.T) {
	w := &recWriter{err: errors.New("no space left on device")}
	h, _ := bufferedHandler(w, false, time.Hour)
	for i := range 2000 { // past maxHeld: written (and failed) on the way
		h.LogRequest(context.Background(), time.Now(), slog.LevelInfo, testRequest(i))
	}
	if n := len(h.w.held); n >= maxHeld {
		t.Fatalf("%d bytes held after failed writes", n)
	}
	if err := h.Flush(); err == nil || !strings.Contains(err.Error(), "no space") {
		t.Fatalf("Flush: %v, want the write's error", err)
	}
	if len(h.w.held) != 0 {
		t.Fatalf("%d bytes held after Flush", len(h.w.held))
	}
	w.mu.Lock()
	w.err = nil
	w.mu.Unlock()
	h.LogRequest(context.Background(), time.Now(), slog.LevelInfo, testRequest(1))
	if err := h.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := w.all(); strings.Count(got, "\n") != 1 {
		t.Fatalf("after the disk recovered: %q, want the one line logged since", got)
	}

	// Held lines whose write fails do not take an ordinary record with
	// them: a writer that refuses only large writes.
	big := &sizeLimitWriter{max: 1024}
	h, log := bufferedHandler(big, false, time.Hour)
	for i := range 20 {
		h.LogRequest(context.Background(), time.Now(), slog.LevelInfo, testRequest(i))
	}
	log.Error("store failed", "path", "/var/lib/provisiond/provisiond.db")
	if !strings.Contains(big.String(), "store failed") {
		t.Fatalf("the error record was dropped with the held lines: %q", big.String())
	}
}

// sizeLimitWriter fails writes over max bytes.
type sizeLimitWriter struct {
	bytes.Buffer
	max int
}

func (w *sizeLimitWriter) Write(p []byte) (int, error) {
	if len(p) > w.max {
		return 0, errors.New("too large")
	}
	return w.Buffer.Write(p)
}

// TestBufferConcurrent: lines from many goroutines, held and written
// together with ordinary lines between, are all there, each whole.
func TestBufferConcurrent(t *testing.T) {
	var w recWriter
	h, log := bufferedHandler(&w, false, time.Millisecond)
	const goroutines, each = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				if i%50 == 0 {
					log.Info("ordinary", "g", g, "i", i)
					continue
				}
				h.LogRequest(context.Background(), time.Now(), slog.LevelInfo, testRequest(i))
			}
		})
	}
	wg.Wait()
	if err := h.Flush(); err != nil {
		t.Fatal(err)
	}
	all := w.all()
	lines := strings.Split(strings.TrimSuffix(all, "\n"), "\n")
	if len(lines) != goroutines*each {
		t.Fatalf("%d lines, want %d", len(lines), goroutines*each)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "time=") || !(strings.Contains(l, "msg=request") || strings.Contains(l, "msg=ordinary")) {
			t.Fatalf("a line cut or mixed: %q", l)
		}
	}
	if n := bytes.Count([]byte(all), []byte("msg=ordinary")); n != goroutines*each/50 {
		t.Errorf("%d ordinary lines, want %d", n, goroutines*each/50)
	}
}

func TestBufferAllocs(t *testing.T) {
	h, _ := bufferedHandler(io.Discard, false, time.Hour)
	ctx := context.Background()
	r := testRequest(3)
	if n := testing.AllocsPerRun(5000, func() { h.LogRequest(ctx, time.Now(), slog.LevelInfo, r) }); n != 0 {
		t.Errorf("%v allocations a held line, want 0", n)
	}
}
