package tftp

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the TFTP server's Prometheus metrics. A nil *Metrics counts
// nothing. The only label is the result: ok, size_only (the client stopped
// after learning the size, as UEFI firmware does), not_found, refused,
// busy (MaxTransfers reached), error.
type Metrics struct {
	transfers *prometheus.CounterVec
	bytes     prometheus.Counter
	duration  prometheus.Histogram
}

// NewMetrics registers the TFTP metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "provisiond", Subsystem: "tftp", Name: "transfers_total",
			Help: "TFTP read requests, by result (ok, size_only, not_found, refused, busy, error).",
		}, []string{"result"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "provisiond", Subsystem: "tftp", Name: "sent_bytes_total",
			Help: "File bytes sent over TFTP.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "provisiond", Subsystem: "tftp", Name: "transfer_duration_seconds",
			Help:    "Time from a read request to the end of its transfer.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}),
	}
	reg.MustRegister(m.transfers, m.bytes, m.duration)
	return m
}

func (m *Metrics) transfer(result string, n int64, d time.Duration) {
	if m == nil {
		return
	}
	m.transfers.WithLabelValues(result).Inc()
	m.bytes.Add(float64(n))
	m.duration.Observe(d.Seconds())
}
