package rpc

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
)

// metrics counts calls by method and status code, and catalog changes by
// operation and result (the label the admin API's counter uses too). Label values are bounded: the API's 16 methods,
// gRPC's 17 codes, put/delete and ok/refused.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	changes  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "provisiond", Subsystem: "rpc", Name: "requests_total",
			Help: "matchbox gRPC API calls by method (/rpcpb.Groups/GroupPut) and gRPC status code.",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "provisiond", Subsystem: "rpc", Name: "request_duration_seconds",
			Help:    "Time to answer a matchbox gRPC API call, by method.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"method"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "provisiond", Subsystem: "rpc", Name: "catalog_changes_total",
			Help: "Catalog changes through the matchbox gRPC API by operation (put, delete) and result (ok, refused).",
		}, []string{"op", "result"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.changes)
	}
	return m
}

func (m *metrics) observe(method string, code codes.Code, d time.Duration) {
	m.requests.WithLabelValues(method, code.String()).Inc()
	m.duration.WithLabelValues(method).Observe(d.Seconds())
}
