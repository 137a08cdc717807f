package catalog

import "github.com/prometheus/client_golang/prometheus"

// Collectors returns the render cache metrics, read from st at scrape
// time: provisiond_render_cache_hits_total and
// provisiond_render_cache_misses_total. The boot server registers them
// with its registry (server.Config.CacheStats).
func (st *CacheStats) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "provisiond", Name: "render_cache_hits_total",
			Help: "Config renderings answered from the render cache.",
		}, func() float64 { return float64(st.Hits.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "provisiond", Name: "render_cache_misses_total",
			Help: "Config renderings that had to be rendered (and translated).",
		}, func() float64 { return float64(st.Misses.Load()) }),
	}
}
