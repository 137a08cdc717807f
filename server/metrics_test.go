package server

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestObserveCountsEveryRequest: the children observe keeps per endpoint
// count every request, also when the first requests of endpoints come
// at once from many goroutines, and a status other than 200 is counted
// under its own code.
func TestObserveCountsEveryRequest(t *testing.T) {
	m := newMetrics(prometheus.NewRegistry())
	endpoints := []string{"/ipxe", "/ignition", "/metadata", "/boot.ipxe", "other"}
	const goroutines, each = 16, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e := endpoints[(g+i)%len(endpoints)]
				status := 200
				if i%10 == 0 {
					status = 404
				}
				m.observe(e, status, time.Millisecond)
			}
		}()
	}
	wg.Wait()
	var ok, notFound, observed float64
	for _, e := range endpoints {
		ok += testutil.ToFloat64(m.requests.WithLabelValues(e, "200"))
		notFound += testutil.ToFloat64(m.requests.WithLabelValues(e, "404"))
	}
	if want := float64(goroutines * each * 9 / 10); ok != want {
		t.Errorf("code 200: %v requests counted, want %v", ok, want)
	}
	if want := float64(goroutines * each / 10); notFound != want {
		t.Errorf("code 404: %v requests counted, want %v", notFound, want)
	}
	n, err := testutil.GatherAndCount(prometheusRegistryOf(m), "provisiond_http_request_duration_seconds")
	if err != nil {
		t.Fatal(err)
	}
	if n != len(endpoints) {
		t.Errorf("%d duration series, want one per endpoint (%d)", n, len(endpoints))
	}
	for _, e := range endpoints {
		observed += float64(histogramCount(t, m, e))
	}
	if want := float64(goroutines * each); observed != want {
		t.Errorf("%v durations observed, want %v", observed, want)
	}
}

func prometheusRegistryOf(m *metrics) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.duration)
	return reg
}

// histogramCount is the number of observations of endpoint's duration.
func histogramCount(t *testing.T, m *metrics, endpoint string) uint64 {
	t.Helper()
	reg := prometheusRegistryOf(m)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, metric := range mf.GetMetric() {
			for _, l := range metric.GetLabel() {
				if l.GetName() == "endpoint" && l.GetValue() == endpoint {
					return metric.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	t.Fatalf("no duration series for %s", endpoint)
	return 0
}
