package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/provisiond/provisiond/internal/reqlog"
)

// TestNewLoggerWritesRequestLines: serve's logger is a reqlog handler
// (the server writes its request lines through LogRequest) at the level
// asked, in the format asked.
func TestNewLoggerWritesRequestLines(t *testing.T) {
	at := time.Date(2026, 12, 1, 15, 52, 39, 123456789, time.UTC)
	r := reqlog.Request{Method: "GET", Path: "/ipxe", Status: 200, Duration: 15 * time.Microsecond, Remote: "127.0.0.1:1",
		MAC: "52:54:00:89:d8:10", Group: "g", Profile: "p"}
	for _, tc := range []struct{ format, level, want string }{
		{"text", "info", "time=2026-12-01T15:52:39.123Z level=INFO msg=request method=GET path=/ipxe status=200 duration=15µs remote=127.0.0.1:1 mac=52:54:00:89:d8:10 group=g profile=p\n"},
		{"json", "debug", `{"time":"2026-12-01T15:52:39.123456789Z","level":"INFO","msg":"request","method":"GET","path":"/ipxe","status":200,"duration":15000,"remote":"127.0.0.1:1","mac":"52:54:00:89:d8:10","group":"g","profile":"p"}` + "\n"},
		{"text", "warn", ""},
	} {
		var buf bytes.Buffer
		log, err := newLogger(&buf, tc.format, tc.level)
		if err != nil {
			t.Fatal(err)
		}
		h, ok := log.Handler().(*reqlog.Handler)
		if !ok {
			t.Fatalf("%s: handler %T", tc.format, log.Handler())
		}
		h.LogRequest(context.Background(), at, slog.LevelInfo, r)
		if buf.String() != tc.want {
			t.Errorf("%s at %s: %q, want %q", tc.format, tc.level, buf.String(), tc.want)
		}
		buf.Reset()
		log.Warn("ordinary", "k", "v w")
		if !strings.Contains(buf.String(), "ordinary") || !strings.Contains(buf.String(), "v w") {
			t.Errorf("%s: ordinary line %q", tc.format, buf.String())
		}
	}
}
