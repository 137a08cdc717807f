package reqlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// oldAttrs is what server.requestLog gave slog before this package, kept
// here as the reference AppendAttrs and the fast path are held to.
func oldAttrs(r Request) []slog.Attr {
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.Path),
		slog.Int("status", r.Status),
		slog.Duration("duration", r.Duration),
		slog.String("remote", r.Remote),
	}
	if r.MAC != "" {
		attrs = append(attrs, slog.String("mac", r.MAC))
	}
	if r.Group != "" {
		attrs = append(attrs, slog.String("group", r.Group), slog.String("profile", r.Profile))
	}
	if r.Err != nil {
		attrs = append(attrs, slog.String("err", r.Err.Error()))
	}
	return attrs
}

// slogLine is what slog's own handler writes for the request line: a
// Record as Logger.LogAttrs builds it, with time t.
func slogLine(json bool, opts *slog.HandlerOptions, t time.Time, level slog.Level, r Request) string {
	var buf bytes.Buffer
	var h slog.Handler = slog.NewTextHandler(&buf, opts)
	if json {
		h = slog.NewJSONHandler(&buf, opts)
	}
	if h.Enabled(context.Background(), level) {
		rec := slog.NewRecord(t, level, Message, 0)
		rec.AddAttrs(oldAttrs(r)...)
		if err := h.Handle(context.Background(), rec); err != nil {
			panic(err)
		}
	}
	return buf.String()
}

// fastLine is what LogRequest writes for the same line.
func fastLine(t testing.TB, json bool, opts *slog.HandlerOptions, tm time.Time, level slog.Level, r Request) string {
	var buf bytes.Buffer
	h := newHandler(&buf, opts, json)
	fh, ok := h.(*Handler)
	if !ok {
		t.Fatalf("handler %T for options %+v, want *Handler", h, opts)
	}
	fh.LogRequest(context.Background(), tm, level, r)
	return buf.String()
}

// checkSame fails t when the fast path's line differs from slog's, in
// either format.
func checkSame(t testing.TB, minLevel slog.Level, tm time.Time, level slog.Level, r Request) {
	t.Helper()
	opts := &slog.HandlerOptions{Level: minLevel}
	for _, json := range []bool{false, true} {
		want := slogLine(json, opts, tm, level, r)
		got := fastLine(t, json, opts, tm, level, r)
		if got != want {
			t.Fatalf("json=%v level %v (min %v), time %v, %#v:\nslog %q\nfast %q", json, level, minLevel, tm, r, want, got)
		}
	}
}

var (
	someTime = time.Date(2026, 12, 1, 15, 52, 39, 123456789, time.UTC)
	oddZone  = time.FixedZone("odd", -(3*3600 + 30*60))
)

// oddStrings are values every string attribute is tried with.
var oddStrings = []string{
	"", "x", "/ipxe", "52:54:00:89:d8:10", "127.0.0.1:50123", "[::1]:8080",
	"a b", "a=b", `a"b`, `a\b`, "a\nb", "a\rb", "a\tb", "\x00", "\x1f", "\x7f",
	"é", "日本語", "\u00a0", "\u2028", "\u2029", "\u200b", "\ufffd", "\xff", "a\xc3", "\xed\xa0\x80",
	"<&>", "{\"k\":1}", "µs", strings.Repeat("long/", 300),
}

func TestLineMatchesSlog(t *testing.T) {
	levels := []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError, slog.LevelInfo + 2, slog.LevelDebug - 1}
	durations := []time.Duration{0, 1, 999, time.Microsecond, 1500 * time.Nanosecond, 15234 * time.Nanosecond,
		time.Millisecond + 1, 999999999, time.Second, 90 * time.Second, 3*time.Hour + 25*time.Minute + 45*time.Second + 500*time.Millisecond,
		-time.Millisecond, math.MaxInt64, math.MinInt64}
	times := []time.Time{someTime, someTime.In(oddZone), time.Time{}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 999999999, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 100000, time.UTC),
		time.Now(), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}
	statuses := []int{200, 404, 500, 0, -1, 999999}
	base := Request{Method: "GET", Path: "/ipxe", Status: 200, Duration: 15234 * time.Nanosecond, Remote: "127.0.0.1:50123",
		MAC: "52:54:00:89:d8:10", Group: "worker", Profile: "flatcar"}

	for _, min := range levels[:4] {
		for _, level := range levels {
			checkSame(t, min, someTime, level, base)
		}
	}
	for _, tm := range times {
		checkSame(t, slog.LevelInfo, tm, slog.LevelInfo, base)
	}
	for _, d := range durations {
		r := base
		r.Duration = d
		checkSame(t, slog.LevelInfo, someTime, slog.LevelInfo, r)
	}
	for _, st := range statuses {
		r := base
		r.Status = st
		checkSame(t, slog.LevelInfo, someTime, slog.LevelInfo, r)
	}
	fields := []func(*Request, string){
		func(r *Request, s string) { r.Method = s },
		func(r *Request, s string) { r.Path = s },
		func(r *Request, s string) { r.Remote = s },
		func(r *Request, s string) { r.MAC = s },
		func(r *Request, s string) { r.Group = s },
		func(r *Request, s string) { r.Profile = s },
		func(r *Request, s string) { r.Err = errors.New(s) },
	}
	for i, set := range fields {
		for _, s := range oddStrings {
			r := base
			set(&r, s)
			checkSame(t, slog.LevelInfo, someTime, slog.LevelInfo, r)
			if i == 4 || i == 5 { // group without a profile, and the other way round
				r.Group, r.Profile = r.Profile, r.Group
				checkSame(t, slog.LevelInfo, someTime, slog.LevelInfo, r)
			}
		}
	}
	// The five attributes of a request that is not a machine's.
	checkSame(t, slog.LevelInfo, someTime, slog.LevelInfo, Request{Method: "GET", Path: "/boot.ipxe", Status: 200, Duration: 9 * time.Microsecond, Remote: "10.0.0.1:1"})
	checkSame(t, slog.LevelDebug, someTime, slog.LevelDebug, Request{Method: "GET", Path: "/metrics", Status: 200, Remote: "10.0.0.1:1"})
}

// TestAppendAttrs holds AppendAttrs, which the server's fallback logs
// through, to the attributes the server logged before.
func TestAppendAttrs(t *testing.T) {
	for _, r := range []Request{
		{},
		{Method: "GET", Path: "/boot.ipxe", Status: 200, Duration: time.Microsecond, Remote: "r"},
		{Method: "GET", MAC: "m"},
		{Method: "GET", Group: "g"},
		{Method: "GET", Profile: "p"},
		{Method: "GET", MAC: "m", Group: "g", Profile: "p", Err: errors.New("e")},
		{Err: errors.New("")},
	} {
		want := oldAttrs(r)
		got := r.AppendAttrs(nil)
		if len(got) != len(want) {
			t.Fatalf("%+v: %v, want %v", r, got, want)
		}
		for i := range got {
			if !got[i].Equal(want[i]) {
				t.Fatalf("%+v: attribute %d is %v, want %v", r, i, got[i], want[i])
			}
		}
	}
}

// TestLoggerLine compares the fast path with Logger.LogAttrs itself, the
// call the server made before, times aside.
func TestLoggerLine(t *testing.T) {
	r := Request{Method: "GET", Path: "/ipxe", Status: 200, Duration: 15 * time.Microsecond, Remote: "127.0.0.1:1",
		MAC: "52:54:00:89:d8:10", Group: "g", Profile: "p", Err: errors.New("it failed")}
	for _, json := range []bool{false, true} {
		var a, b bytes.Buffer
		var plain slog.Handler = slog.NewTextHandler(&a, nil)
		if json {
			plain = slog.NewJSONHandler(&a, nil)
		}
		slog.New(plain).LogAttrs(context.Background(), slog.LevelInfo, Message, oldAttrs(r)...)
		newHandler(&b, nil, json).(*Handler).LogRequest(context.Background(), time.Now(), slog.LevelInfo, r)
		if x, y := dropTime(a.String()), dropTime(b.String()); x != y || !strings.Contains(x, "it failed") {
			t.Errorf("json=%v\nLogAttrs   %q\nLogRequest %q", json, a.String(), b.String())
		}
	}
}

// dropTime cuts a line's time attribute (the first), of either format.
func dropTime(line string) string {
	if i := strings.Index(line, "level"); i > 0 {
		return line[i:]
	}
	return line
}

// TestOrdinaryLines: records, WithAttrs and WithGroup through the
// wrapper are what slog writes.
func TestOrdinaryLines(t *testing.T) {
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	for _, json := range []bool{false, true} {
		var a, b bytes.Buffer
		var plain slog.Handler = slog.NewTextHandler(&a, opts)
		if json {
			plain = slog.NewJSONHandler(&a, opts)
		}
		wrapped := newHandler(&b, opts, json)
		if _, ok := wrapped.(*Handler); !ok {
			t.Fatalf("%T, want *Handler", wrapped)
		}
		for _, pair := range [][2]slog.Handler{
			{plain, wrapped},
			{plain.WithAttrs([]slog.Attr{slog.String("component", "store-watch")}), wrapped.WithAttrs([]slog.Attr{slog.String("component", "store-watch")})},
			{plain.WithGroup("g").WithAttrs([]slog.Attr{slog.Int("n", 1)}), wrapped.WithGroup("g").WithAttrs([]slog.Attr{slog.Int("n", 1)})},
			{plain.WithGroup(""), wrapped.WithGroup("")},
		} {
			for _, level := range []slog.Level{slog.LevelDebug - 4, slog.LevelDebug, slog.LevelError} {
				if x, y := pair[0].Enabled(context.Background(), level), pair[1].Enabled(context.Background(), level); x != y {
					t.Fatalf("Enabled(%v) %v, want %v", level, y, x)
				}
			}
			for _, h := range pair {
				rec := slog.NewRecord(someTime, slog.LevelWarn, "catalog loaded", 0)
				rec.AddAttrs(slog.String("dir", "/var/lib/a b"), slog.Duration("duration", 2383007), slog.Any("err", errors.New("x")),
					slog.Group("sub", slog.Int("a", 1)), slog.Bool("ok", true), slog.Float64("f", 0.5))
				if err := h.Handle(context.Background(), rec); err != nil {
					t.Fatal(err)
				}
			}
		}
		if a.String() != b.String() || a.Len() == 0 {
			t.Errorf("json=%v\nslog    %s\nwrapped %s", json, a.String(), b.String())
		}
		if _, ok := wrapped.WithAttrs([]slog.Attr{slog.Int("n", 1)}).(*Handler); ok {
			t.Error("WithAttrs kept LogRequest, which would leave its attributes out")
		}
		if _, ok := wrapped.WithGroup("g").(*Handler); ok {
			t.Error("WithGroup kept LogRequest, which would leave its group out")
		}
	}
}

// TestOptionsWithoutFastPath: options whose effect LogRequest does not
// reproduce give slog's own handler.
func TestOptionsWithoutFastPath(t *testing.T) {
	rep := func(groups []string, a slog.Attr) slog.Attr { return a }
	for _, opts := range []*slog.HandlerOptions{{ReplaceAttr: rep}, {AddSource: true}} {
		if h := NewTextHandler(io.Discard, opts); fmt.Sprintf("%T", h) != "*slog.TextHandler" {
			t.Errorf("text, %+v: %T", opts, h)
		}
		if h := NewJSONHandler(io.Discard, opts); fmt.Sprintf("%T", h) != "*slog.JSONHandler" {
			t.Errorf("json, %+v: %T", opts, h)
		}
	}
	for _, opts := range []*slog.HandlerOptions{nil, {}, {Level: slog.LevelError}} {
		if _, ok := NewTextHandler(io.Discard, opts).(*Handler); !ok {
			t.Errorf("text, %+v: no LogRequest", opts)
		}
		if _, ok := NewJSONHandler(io.Discard, opts).(*Handler); !ok {
			t.Errorf("json, %+v: no LogRequest", opts)
		}
	}
}

// TestLevels: a line below the handler's level is not written, a
// dynamic level (LevelVar) is read on each line.
func TestLevels(t *testing.T) {
	var lv slog.LevelVar
	lv.Set(slog.LevelInfo)
	var buf bytes.Buffer
	h := NewTextHandler(&buf, &slog.HandlerOptions{Level: &lv}).(*Handler)
	r := Request{Method: "GET", Path: "/metrics", Status: 200, Remote: "r"}
	h.LogRequest(context.Background(), someTime, slog.LevelDebug, r)
	if buf.Len() != 0 {
		t.Fatalf("debug line at level info: %q", buf.String())
	}
	lv.Set(slog.LevelDebug)
	h.LogRequest(context.Background(), someTime, slog.LevelDebug, r)
	if want := "time=2026-12-01T15:52:39.123Z level=DEBUG msg=request method=GET path=/metrics status=200 duration=0s remote=r\n"; buf.String() != want {
		t.Fatalf("%q, want %q", buf.String(), want)
	}
}

// lineWriter fails the test on a Write that overlaps another or that is
// not one whole line.
type lineWriter struct {
	t      testing.TB
	inside atomic.Int32
	lines  []string // unsynchronized on purpose: -race sees a Write that is not serialized
}

func (w *lineWriter) Write(p []byte) (int, error) {
	if w.inside.Add(1) != 1 {
		w.t.Error("two Writes at once")
	}
	defer w.inside.Add(-1)
	if bytes.IndexByte(p, '\n') != len(p)-1 {
		w.t.Errorf("a Write that is not one line: %q", p)
	}
	w.lines = append(w.lines, string(p))
	return len(p), nil
}

func TestConcurrentLinesWhole(t *testing.T) {
	for _, json := range []bool{false, true} {
		w := &lineWriter{t: t}
		h := newHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}, json).(*Handler)
		log := slog.New(h)
		with := log.With("component", "store-watch")
		const goroutines, each = 16, 200
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				r := Request{Method: "GET", Path: "/ipxe?x=a b\nc", Status: 200, Duration: time.Duration(g), Remote: "r",
					MAC: "52:54:00:89:d8:10", Group: "g\n", Profile: strings.Repeat("p", g*100), Err: errors.New("multi\nline")}
				for i := range each {
					switch i % 3 {
					case 0:
						h.LogRequest(context.Background(), time.Now(), slog.LevelInfo, r)
					case 1:
						log.Info("ordinary\nline", "i", i, "g", g)
					default:
						with.Debug("with", "i", i)
					}
				}
			})
		}
		wg.Wait()
		if len(w.lines) != goroutines*each {
			t.Fatalf("json=%v: %d lines, want %d", json, len(w.lines), goroutines*each)
		}
		requests := 0
		for _, l := range w.lines {
			if strings.Contains(l, "request") {
				requests++
			}
		}
		if want := goroutines * ((each + 2) / 3); requests != want {
			t.Errorf("json=%v: %d request lines, want %d", json, requests, want)
		}
	}
}

func TestLogRequestAllocs(t *testing.T) {
	r := Request{Method: "GET", Path: "/ipxe", Status: 200, Duration: 15234 * time.Nanosecond, Remote: "127.0.0.1:50123",
		MAC: "52:54:00:89:d8:10", Group: "worker \"a\"", Profile: "flatcar", Err: errors.New("template: x")}
	for _, json := range []bool{false, true} {
		h := newHandler(io.Discard, nil, json).(*Handler)
		ctx := context.Background()
		if n := testing.AllocsPerRun(1000, func() { h.LogRequest(ctx, time.Now(), slog.LevelInfo, r) }); n != 0 {
			t.Errorf("json=%v: %v allocations a line, want 0", json, n)
		}
	}
}

// BenchmarkRequestLine: the request line through slog (Logger.LogAttrs,
// as the server logged before) and through LogRequest, with the five
// attributes of /boot.ipxe and the eight of a machine's request.
func BenchmarkRequestLine(b *testing.B) {
	five := Request{Method: "GET", Path: "/boot.ipxe", Status: 200, Duration: 15234 * time.Nanosecond, Remote: "127.0.0.1:50123"}
	eight := five
	eight.Path, eight.MAC, eight.Group, eight.Profile = "/ipxe", "52:54:00:89:d8:10", "m000123", "worker"
	ctx := context.Background()
	for _, format := range []string{"text", "json"} {
		json := format == "json"
		for _, c := range []struct {
			name string
			r    Request
		}{{"5", five}, {"8", eight}} {
			b.Run(format+"/"+c.name+"/slog", func(b *testing.B) {
				var h slog.Handler = slog.NewTextHandler(io.Discard, nil)
				if json {
					h = slog.NewJSONHandler(io.Discard, nil)
				}
				log := slog.New(h)
				b.ReportAllocs()
				for b.Loop() {
					var buf [9]slog.Attr
					log.LogAttrs(ctx, slog.LevelInfo, Message, c.r.AppendAttrs(buf[:0])...)
				}
			})
			b.Run(format+"/"+c.name+"/fast", func(b *testing.B) {
				h := newHandler(io.Discard, nil, json).(*Handler)
				b.ReportAllocs()
				for b.Loop() {
					h.LogRequest(ctx, time.Now(), slog.LevelInfo, c.r)
				}
			})
		}
	}
}
