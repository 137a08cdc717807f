package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/provisiond/provisiond/internal/statuswriter"
)

// requestLog writes one log line per request and observes the metrics.
// Label values are bounded: the route pattern, never the raw path or a mac.
func (s *Server) requestLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		lw := &logWriter{Writer: statuswriter.Writer{ResponseWriter: w}}
		info := &lw.info
		next.ServeHTTP(lw, r)
		status := lw.Status()
		d := time.Since(start)
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
		var buf [9]slog.Attr // on the stack: LogAttrs copies them
		attrs := append(buf[:0],
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", status),
			slog.Duration("duration", d),
			slog.String("remote", r.RemoteAddr),
		)
		if info.mac != "" {
			attrs = append(attrs, slog.String("mac", info.mac))
		}
		if info.group != "" {
			attrs = append(attrs, slog.String("group", info.group), slog.String("profile", info.profile))
		}
		if info.err != nil {
			attrs = append(attrs, slog.String("err", info.err.Error()))
		}
		s.log.LogAttrs(r.Context(), level, "request", attrs...)
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
