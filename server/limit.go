package server

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/provisiond/provisiond/groups"
)

// DefaultMaxInflightPerClient is the default of provisiond serve's
// --max-inflight-per-client. A machine's firmware asks one
// thing at a time; 64 leaves room for a NAT or a relay in front of many.
const DefaultMaxInflightPerClient = 64

// inflight counts the requests in flight per client IP address.
type inflight struct {
	max int
	mu  sync.Mutex
	n   map[string]int
}

// acquire counts a request of ip in, unless ip already has max in flight.
func (l *inflight) acquire(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[ip] >= l.max {
		return false
	}
	l.n[ip]++
	return true
}

func (l *inflight) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[ip]--; l.n[ip] <= 0 {
		delete(l.n, ip) // the map holds only addresses with requests in flight
	}
}

// clientIP is the address part of r.RemoteAddr: every port of one host
// counts as one client.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limitInflight answers 429 with Retry-After to a client address that
// already has MaxInflightPerClient requests in flight, so one host (a
// broken firmware retrying in a loop, or a hostile one) cannot take every
// render and every connection. /healthz, /readyz and /metrics are not
// counted: a monitoring system must always get its answer.
func (s *Server) limitInflight(next http.Handler) http.Handler {
	max := s.cfg.MaxInflightPerClient
	if max <= 0 {
		return next
	}
	l := &inflight{max: max, n: map[string]int{}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			next.ServeHTTP(w, r)
			return
		}
		ip := clientIP(r)
		if !l.acquire(ip) {
			s.metrics.throttled.Inc()
			w.Header().Set("Retry-After", "1")
			writeError(w, r, &httpError{Code: http.StatusTooManyRequests,
				Msg: fmt.Sprintf("too many requests in flight from %s (at most %d)", ip, max)})
			return
		}
		defer l.release(ip)
		next.ServeHTTP(w, r)
	})
}

// limitLabels refuses, with 400, a query with more than MaxLabels distinct
// keys (groups.FromQuery's own bound, groups.MaxLabels, still applies). The
// common case costs one count of '&': the query is parsed only when it has
// more parameters than the bound.
func (s *Server) limitLabels(next http.Handler) http.Handler {
	max := s.cfg.MaxLabels
	if max <= 0 || max >= groups.MaxLabels {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if raw := r.URL.RawQuery; raw != "" && strings.Count(raw, "&")+1 > max {
			if n := len(r.URL.Query()); n > max {
				writeError(w, r, fmt.Errorf("%w: %d query parameters, at most %d", groups.ErrBadLabels, n, max))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
