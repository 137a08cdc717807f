package server

import (
	"encoding/json"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provisiond/provisiond/internal/reqlog"
	"github.com/provisiond/provisiond/internal/testutil"
)

// TestRequestLineThroughHandler: the server's request lines through a
// reqlog handler (provisiond serve's logger) are those it writes through
// slog's own handler (LogAttrs), times, durations and client ports
// aside, in both formats, debug lines only at level debug.
func TestRequestLineThroughHandler(t *testing.T) {
	paths := []string{
		"/boot.ipxe",
		"/ipxe?mac=52-54-00-00-00-01&serial=S1",
		"/metadata?mac=52:54:00:00:00:01",
		"/ipxe?mac=52:54:00:00:00:02",
		"/ipxe?mac=not-a-mac",
		"/ignition?mac=52:54:00:00:00:01&os=installed",
		"/no/such path",
		"/metrics",
		"/healthz",
	}
	masks := []*regexp.Regexp{
		regexp.MustCompile(`time=\S+ |"time":"[^"]*",`),
		regexp.MustCompile(`duration=\S+|"duration":\d+`),
		regexp.MustCompile(`remote=127\.0\.0\.1:\d+|"remote":"127\.0\.0\.1:\d+"`),
	}
	lines := func(logs string) []string {
		var out []string
		for _, l := range strings.SplitAfter(logs, "\n") {
			if strings.Contains(l, "msg=request") || strings.Contains(l, `"msg":"request"`) {
				for _, m := range masks {
					l = m.ReplaceAllString(l, "")
				}
				out = append(out, l)
			}
		}
		slices.Sort(out) // a line is written after its response: their order may differ
		return out
	}
	run := func(h slog.Handler, logs *testutil.SyncBuffer, want int) []string {
		e := newEnv(t, queryCatalog(t, "one"), func(c *Config) { c.Logger = slog.New(h) })
		for _, p := range paths {
			e.get(p)
		}
		deadline := time.Now().Add(20 * time.Second)
		for len(lines(logs.String())) < want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		return lines(logs.String())
	}
	for _, format := range []string{"text", "json"} {
		for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
			want := len(paths)
			if level == slog.LevelInfo {
				want -= 2 // /metrics and /healthz are debug lines
			}
			opts := &slog.HandlerOptions{Level: level}
			var plainLogs, fastLogs testutil.SyncBuffer
			var plain, fast slog.Handler = slog.NewTextHandler(&plainLogs, opts), reqlog.NewTextHandler(&fastLogs, opts)
			if format == "json" {
				plain, fast = slog.NewJSONHandler(&plainLogs, opts), reqlog.NewJSONHandler(&fastLogs, opts)
			}
			if _, ok := fast.(requestLogger); !ok {
				t.Fatalf("%T is no requestLogger", fast)
			}
			a, b := run(plain, &plainLogs, want), run(fast, &fastLogs, want)
			if len(a) != want || !slices.Equal(a, b) {
				t.Errorf("%s at %v: %d lines through slog, %d through LogRequest, want %d:\nslog:\n%s\nLogRequest:\n%s",
					format, level, len(a), len(b), want, strings.Join(a, ""), strings.Join(b, ""))
			}
			joined := strings.Join(b, "")
			for _, s := range []string{"52:54:00:00:00:01", "profile", "not-a-mac", "/no/such path"} {
				if !strings.Contains(joined, s) {
					t.Errorf("%s at %v: no %q in the request lines:\n%s", format, level, s, joined)
				}
			}
		}
	}
}

// TestEventTimeIsRequestArrival: a request's inventory event is timed
// when requestLog took the request (the clock is read once for both), and
// the log line's time is that arrival plus the line's duration.
func TestEventTimeIsRequestArrival(t *testing.T) {
	e := newEnv(t, queryCatalog(t, "one"))
	before := time.Now()
	if code, body, _ := e.get("/ipxe?mac=52-54-00-00-00-01"); code != 200 {
		t.Fatalf("/ipxe: %d %s", code, body)
	}
	after := time.Now()
	m, ok := e.rec.Get("52:54:00:00:00:01")
	if !ok || len(m.Events) == 0 {
		t.Fatalf("no event recorded: %+v", m)
	}
	ev := m.Events[len(m.Events)-1]
	if ev.Time.Before(before.Round(0)) || ev.Time.After(after.Round(0)) || ev.Time.Location() != time.UTC {
		t.Errorf("event time %v, want in UTC between %v and %v", ev.Time, before, after)
	}
	var line struct {
		Time     time.Time     `json:"time"`
		Path     string        `json:"path"`
		Duration time.Duration `json:"duration"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for line.Path != "/ipxe" && time.Now().Before(deadline) {
		for _, l := range strings.Split(e.logs.String(), "\n") {
			if strings.Contains(l, `"msg":"request"`) && strings.Contains(l, `"path":"/ipxe"`) {
				if err := json.Unmarshal([]byte(l), &line); err != nil {
					t.Fatalf("%s: %v", l, err)
				}
			}
		}
		if line.Path == "" {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if line.Path != "/ipxe" {
		t.Fatalf("no request line for /ipxe in:\n%s", e.logs.String())
	}
	// The line's time is in milliseconds.
	if d := line.Time.Sub(ev.Time.Add(line.Duration)); d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("line time %v, event time %v + duration %v: %v apart, want under 1ms", line.Time, ev.Time, line.Duration, d)
	}
}
