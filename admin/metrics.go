package admin

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// adminMetrics are the admin listener's metrics. Label values are bounded:
// route patterns, methods, codes, operations.
type adminMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	changes  *prometheus.CounterVec
}

func newAdminMetrics(reg prometheus.Registerer) *adminMetrics {
	m := &adminMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "provisiond", Subsystem: "admin", Name: "requests_total",
			Help: "Admin API requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "provisiond", Subsystem: "admin", Name: "request_duration_seconds",
			Help:    "Time to answer an admin API request, by route and method.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 9),
		}, []string{"route", "method"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "provisiond", Subsystem: "admin", Name: "catalog_changes_total",
			Help: "Catalog changes made through the admin API, by operation (put, delete, merge, replace) and result (ok, refused).",
		}, []string{"op", "result"}),
	}
	reg.MustRegister(m.requests, m.duration, m.changes)
	return m
}

func (m *adminMetrics) observe(route, method string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route, method).Observe(d.Seconds())
}
