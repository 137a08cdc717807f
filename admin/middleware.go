package admin

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/provisiond/provisiond/internal/statuswriter"
)

// adminLog writes one line per admin request (method, route, status,
// duration, who) and observes the admin metrics. Reads log at debug
// level, writes and failures at info, server errors at error.
func (a *API) adminLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &reqInfo{}
		ctx := withInfo(r.Context(), info)
		sw := &statuswriter.Writer{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(ctx))
		status := sw.Status()
		d := time.Since(start)
		route := "other"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		a.metrics.observe(route, r.Method, status, d)
		level := slog.LevelDebug
		switch {
		case status >= 500:
			level = slog.LevelError
		case r.Method != http.MethodGet || status >= 400:
			level = slog.LevelInfo
		}
		attrs := []slog.Attr{
			slog.String("listener", "admin"),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", status),
			slog.Duration("duration", d),
			slog.String("remote", r.RemoteAddr),
		}
		if info.who != "" {
			attrs = append(attrs, slog.String("who", info.who))
		}
		if info.err != nil {
			attrs = append(attrs, slog.String("err", info.err.Error()))
		}
		a.log.LogAttrs(r.Context(), level, "request", attrs...)
	})
}

// adminRecover turns a panic into a JSON 500 and a logged stack.
func (a *API) adminRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.Error("panic serving admin request", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeAPIError(w, r, &apiError{Code: http.StatusInternalServerError, Err: fmt.Errorf("panic: %v", v)})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody bounds request bodies: MaxBodyBytes, or 8 times that for a
// whole catalog. A body over the limit is answered 413.
func (a *API) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		max := a.cfg.MaxBodyBytes
		if r.URL.Path == "/api/v1/catalog" {
			max *= 8
		}
		if r.ContentLength > max {
			writeAPIError(w, r, &apiError{Code: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("body of %d bytes, at most %d", r.ContentLength, max)})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}
