package console

import "github.com/prometheus/client_golang/prometheus"

// Register adds the hub's metrics to reg: provisiond_console_subscribers
// (live views attached) and provisiond_console_events_dropped_total
// (events slow live views missed). They read the hub's counters when
// scraped, so Publish pays nothing for them.
func (h *Hub) Register(reg prometheus.Registerer) error {
	subs := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "provisiond", Subsystem: "console", Name: "subscribers",
		Help: "Live console views attached to the boot event hub.",
	}, func() float64 { return float64(h.Subscribers()) })
	dropped := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "provisiond", Subsystem: "console", Name: "events_dropped_total",
		Help: "Boot events dropped for live console views that read too slowly.",
	}, func() float64 { return float64(h.Dropped()) })
	for _, c := range []prometheus.Collector{subs, dropped} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
