package main

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// TestProbeLatency: the probe's latencies are those of the requests
// (each at least the handler's 5 ms), its throughput cannot exceed what
// its connections allow one at a time, and a failing answer is an
// error, not a latency.
func TestProbeLatency(t *testing.T) {
	hs := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			time.Sleep(5 * time.Millisecond)
		case "/missing":
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("ok"))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	defer hs.Close()
	base := "http://" + ln.Addr().String()
	s, err := probeLatency(t.Context(), base, steadyTarget{"/slow", []string{"/slow", "/slow?x=1"}}, 2, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if s.Endpoint != "/slow" || s.Requests < 10 || s.Errors != 0 || s.P50 < 5*time.Millisecond || s.P99 < s.P50 || s.Max < s.P99 {
		t.Errorf("probe of a 5 ms endpoint: %+v", s)
	}
	if limit := 2 / (5 * time.Millisecond).Seconds(); s.PerSecond > limit {
		t.Errorf("probe: %.0f requests a second over 2 connections of 5 ms requests, at most %.0f possible", s.PerSecond, limit)
	}
	s, err = probeLatency(t.Context(), base, steadyTarget{"/missing", []string{"/missing"}}, 2, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if s.Errors == 0 || s.FirstErr != "status 404" {
		t.Errorf("probe of a 404: %+v, want errors", s)
	}
	if _, err := probeLatency(t.Context(), "https://127.0.0.1:1", steadyTarget{"/x", []string{"/x"}}, 1, time.Second); err == nil {
		t.Error("probe of https: no error")
	}
}
