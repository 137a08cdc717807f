package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/provisiond/provisiond/internal/reqlog"
	"github.com/provisiond/provisiond/internal/statuswriter"
)

// requestLogger is a log handler that writes the request line itself,
// as slog would write it but without a slog.Record (reqlog.Handler, which
// provisiond serve's logger has). LogRequest checks the level.
type requestLogger interface {
	LogRequest(ctx context.Context, t time.Time, level slog.Level, r reqlog.Request)
}

// requestLog writes one log line per request and observes the metrics.
// Label values are bounded: the route pattern, never the raw path or a mac.
// The line goes through the logger's handler's LogRequest when it has
// one, else through LogAttrs; the same line either way, its time the
// request's end (LogAttrs takes the time a little later).
func (s *Server) requestLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		lw := &logWriter{Writer: statuswriter.Writer{ResponseWriter: w}, info: reqInfo{start: start}}
		info := &lw.info
		next.ServeHTTP(lw, r)
		status := lw.Status()
		// The end from the monotonic clock alone: time.Now reads two
		// clocks, and a clock read costs 40-190 ns on this project's
		// virtual machines (docs/performance.md, "Steady state, eighth
		// pass"). The line's time is start's wall clock plus d.
		d := time.Since(start)
		end := start.Add(d)
		endpoint := "other"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			endpoint = rc.RoutePattern()
		}
		s.metrics.observe(endpoint, status, d)
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case endpoint == "/metrics" || endpoint == "/healthz" || endpoint == "/readyz":
			level = slog.LevelDebug
		}
		line := reqlog.Request{Method: r.Method, Path: r.URL.Path, Status: status, Duration: d, Remote: r.RemoteAddr,
			MAC: info.mac, Group: info.group, Profile: info.profile, Err: info.err}
		if s.reqlog != nil {
			s.reqlog.LogRequest(r.Context(), end, level, line)
			return
		}
		var buf [9]slog.Attr // on the stack: LogAttrs copies them
		s.log.LogAttrs(r.Context(), level, reqlog.Message, line.AppendAttrs(buf[:0])...)
	})
}

// recoverer turns a panic in a handler into a 500 and a logged stack.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeError(w, r, &httpError{Code: http.StatusInternalServerError, Msg: "internal error, see the server log", Err: fmt.Errorf("panic: %v", v)})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// limitQuery refuses query strings longer than MaxQueryBytes with 414.
func (s *Server) limitQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.RawQuery) > s.cfg.MaxQueryBytes {
			writeError(w, r, &httpError{Code: http.StatusRequestURITooLong,
				Msg: fmt.Sprintf("query string of %d bytes, at most %d", len(r.URL.RawQuery), s.cfg.MaxQueryBytes)})
			return
		}
		next.ServeHTTP(w, r)
	})
}
