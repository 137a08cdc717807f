package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
		log, flush, err := newLogger(&buf, tc.format, tc.level, 0)
		if err != nil {
			t.Fatal(err)
		}
		flush()
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

// TestNewLoggerHoldsRequestLines: with --log-flush, a request line is
// held until flush (or the next ordinary line), then written as it would
// have been at once.
func TestNewLoggerHoldsRequestLines(t *testing.T) {
	at := time.Date(2026, 12, 1, 15, 52, 39, 123456789, time.UTC)
	r := reqlog.Request{Method: "GET", Path: "/ipxe", Status: 200, Duration: 15 * time.Microsecond, Remote: "127.0.0.1:1"}
	var buf bytes.Buffer
	log, flush, err := newLogger(&buf, "text", "info", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	log.Handler().(*reqlog.Handler).LogRequest(context.Background(), at, slog.LevelInfo, r)
	if buf.Len() != 0 {
		t.Fatalf("written before its delay: %q", buf.String())
	}
	flush()
	want := "time=2026-12-01T15:52:39.123Z level=INFO msg=request method=GET path=/ipxe status=200 duration=15µs remote=127.0.0.1:1\n"
	if buf.String() != want {
		t.Fatalf("after flush: %q, want %q", buf.String(), want)
	}
	if _, _, err := newLogger(&buf, "text", "info", -time.Second); err == nil || !strings.Contains(err.Error(), "--log-flush") {
		t.Errorf("a negative --log-flush: %v, want an error naming the flag", err)
	}
}

// TestServeFlushesRequestLinesOnStop: a server holding its request lines
// for an hour (--log-flush 1h) has written every one of them by the time
// it exits on SIGTERM, that of a download still in flight when the
// signal came (after serve's last ordinary line) included.
func TestServeFlushesRequestLinesOnStop(t *testing.T) {
	cat := copyDir(t, testCatalog)
	big := bytes.Repeat([]byte("0123456789abcdef"), 4<<20) // 64 MiB: more than the sockets hold
	if err := os.WriteFile(filepath.Join(cat, "assets", "big.img"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, nil, "--data-dir", t.TempDir(), "--catalog", cat, "--log-flush", "1h")
	const n = 25
	for i := range n {
		if code, _ := get(t, fmt.Sprintf("http://%s/ipxe?mac=52:54:00:89:d8:11&i=%d", p.boot, i)); code != 200 {
			t.Fatalf("/ipxe: %d", code)
		}
	}
	resp, err := http.Get("http://" + p.boot + "/assets/big.img")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadFull(resp.Body, make([]byte, 1<<10)); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitFor(t, "shutting down")
	got, err := io.Copy(io.Discard, resp.Body)
	if err != nil || got != int64(len(big))-1<<10 {
		t.Fatalf("the download in flight at SIGTERM: %d bytes, %v", got, err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("provisiond exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("provisiond did not stop on SIGTERM")
	}
	logs := p.logs()
	if c := strings.Count(logs, `"path":"/ipxe"`); c != n {
		t.Errorf("%d of %d /ipxe request lines in the log", c, n)
	}
	down := strings.Index(logs, `"msg":"shutting down"`)
	if i := strings.Index(logs, `"path":"/assets/big.img"`); i < down {
		t.Errorf("the download's request line is not in the log after shutting down (at %d, shutting down at %d):\n%s", i, down, logs)
	}
}
