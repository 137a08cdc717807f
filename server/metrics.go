package server

import (
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// tokenRejections counts config requests refused for their boot
	// token, by reason (missing, expired, invalid, wrong_mac).
	tokenRejections *prometheus.CounterVec
	// throttled counts requests refused with 429 by the per-client
	// in-flight limit.
	throttled prometheus.Counter

	// routes holds each endpoint's children of requests (code 200) and
	// duration, so that a request does not hash its labels and look them
	// up in the vectors twice (WithLabelValues). Its endpoints are route
	// patterns and "other", a bounded set; it is copied on write (mu).
	routes atomic.Pointer[map[string]*routeMetrics]
	mu     sync.Mutex
}

// routeMetrics are one endpoint's children of the request metrics.
type routeMetrics struct {
	ok       prometheus.Counter
	duration prometheus.Observer
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "provisiond", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests on the boot listener by route and status code.",
		}, []string{"endpoint", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "provisiond", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer a boot listener request, by route.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"endpoint"}),
	}
	m.tokenRejections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "provisiond", Name: "boot_token_rejections_total",
		Help: "Config requests refused with 403 for their boot token, by reason: missing, expired, invalid, wrong_mac.",
	}, []string{"reason"})
	for _, reason := range []string{TokenMissing, TokenExpired, TokenInvalid, TokenWrongMAC} {
		m.tokenRejections.WithLabelValues(reason)
	}
	m.throttled = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "provisiond", Subsystem: "http", Name: "throttled_total",
		Help: "Boot listener requests refused with 429: the client address had --max-inflight-per-client requests in flight.",
	})
	reg.MustRegister(m.requests, m.duration, m.tokenRejections, m.throttled)
	return m
}

func (m *metrics) observe(endpoint string, status int, d time.Duration) {
	rm := m.route(endpoint)
	if status == 200 {
		rm.ok.Inc()
	} else {
		m.requests.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
	}
	rm.duration.Observe(d.Seconds())
}

// route returns endpoint's children, made on its first request.
func (m *metrics) route(endpoint string) *routeMetrics {
	if routes := m.routes.Load(); routes != nil {
		if rm := (*routes)[endpoint]; rm != nil {
			return rm
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	routes := map[string]*routeMetrics{}
	if p := m.routes.Load(); p != nil {
		if rm := (*p)[endpoint]; rm != nil {
			return rm
		}
		routes = maps.Clone(*p)
	}
	rm := &routeMetrics{ok: m.requests.WithLabelValues(endpoint, "200"), duration: m.duration.WithLabelValues(endpoint)}
	routes[endpoint] = rm
	m.routes.Store(&routes)
	return rm
}
