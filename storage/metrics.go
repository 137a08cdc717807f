package storage

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics is the store's timing, observed by Timed:
// provisiond_store_operation_duration_seconds{op}, op being one of
// Timed's operation names (a fixed set).
type Metrics struct {
	ops *prometheus.HistogramVec
}

// NewMetrics registers the store metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{ops: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "provisiond", Subsystem: "store", Name: "operation_duration_seconds",
		Help:    "Time of store operations by operation: allocate (the boot path), and release, replace_catalog, load_catalog, leases, save_machines, machines.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
	}, []string{"op"})}
	reg.MustRegister(m.ops)
	return m
}

// Observe records one operation's duration; it is Timed's Observe.
func (m *Metrics) Observe(op string, d time.Duration) {
	m.ops.WithLabelValues(op).Observe(d.Seconds())
}
