package server

import (
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/profiles"
)

// MachineCounter counts machines by inventory state.
type MachineCounter interface {
	CountByState() map[inventory.State]int
}

// registerCollectors adds the metrics computed at scrape time from the
// served snapshot, the lease table, the inventory, and the render cache
// counters (defined beside the caches, in catalog/metrics.go). Their label values are bounded by the catalog (pool names)
// and by fixed sets (states, kinds), never by machines.
func (s *Server) registerCollectors(reg prometheus.Registerer) {
	reg.MustRegister(&stateCollector{s: s})
	if st := s.cfg.CacheStats; st != nil {
		reg.MustRegister(st.Collectors()...)
	}
}

var (
	poolAddressesDesc = prometheus.NewDesc("provisiond_pool_addresses",
		"Addresses of each pool's assignable range by state: leased (held by a machine, pinned or automatic), free, reserved (the gateway and reserved addresses).",
		[]string{"pool", "state"}, nil)
	poolSizeDesc = prometheus.NewDesc("provisiond_pool_size_addresses",
		"Addresses in each pool's range, start to end.",
		[]string{"pool"}, nil)
	machinesDesc = prometheus.NewDesc("provisiond_machines",
		"Machines in the inventory by state: discovered (asked, no group matched), booting (got /ipxe or /grub), configured (got its config), installed, reprovisioning, failed (docs/lifecycle.md).",
		[]string{"state"}, nil)
	catalogObjectsDesc = prometheus.NewDesc("provisiond_catalog_objects",
		"Objects in the served catalog by kind.",
		[]string{"kind"}, nil)
	readyDesc = prometheus.NewDesc("provisiond_ready",
		"1 once a catalog is loaded and served, else 0.", nil, nil)
)

// stateCollector computes the pool, machine and catalog gauges at scrape
// time.
type stateCollector struct{ s *Server }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- poolAddressesDesc
	ch <- poolSizeDesc
	ch <- machinesDesc
	ch <- catalogObjectsDesc
	ch <- readyDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ready := 0.0
	if c.s.ready.Load() {
		ready = 1
	}
	ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, ready)
	if m := c.s.cfg.Machines; m != nil {
		counts := m.CountByState()
		for _, st := range inventory.States {
			ch <- prometheus.MustNewConstMetric(machinesDesc, prometheus.GaugeValue, float64(counts[st]), string(st))
		}
	}
	snap := c.s.Snapshot()
	if snap == nil {
		return
	}
	cat := snap.Catalog
	ntmpl := 0
	for _, k := range profiles.Kinds {
		ntmpl += len(cat.Templates[k])
	}
	for kind, n := range map[string]int{"profiles": len(cat.Profiles), "groups": len(cat.Groups), "templates": ntmpl, "pools": len(cat.Pools), "machines": len(cat.Machines)} {
		ch <- prometheus.MustNewConstMetric(catalogObjectsDesc, prometheus.GaugeValue, float64(n), kind)
	}
	leased := map[string]map[netip.Addr]bool{}
	for _, l := range c.s.cfg.Leases.All() {
		if leased[l.Pool] == nil {
			leased[l.Pool] = map[netip.Addr]bool{}
		}
		leased[l.Pool][l.Address] = true
	}
	for name, p := range cat.Pools {
		size := p.Size()
		reserved := 0
		seen := map[netip.Addr]bool{}
		for _, r := range append([]string{p.Gateway}, p.Reserved...) {
			a, err := netip.ParseAddr(r)
			if err != nil || seen[a] || !p.InRange(a) {
				continue
			}
			seen[a] = true
			reserved++
		}
		inRange := 0
		for a := range leased[name] {
			if p.InRange(a) && !p.IsReserved(a) {
				inRange++
			}
		}
		ch <- prometheus.MustNewConstMetric(poolSizeDesc, prometheus.GaugeValue, float64(size), name)
		ch <- prometheus.MustNewConstMetric(poolAddressesDesc, prometheus.GaugeValue, float64(len(leased[name])), name, "leased")
		ch <- prometheus.MustNewConstMetric(poolAddressesDesc, prometheus.GaugeValue, float64(size-reserved-inRange), name, "free")
		ch <- prometheus.MustNewConstMetric(poolAddressesDesc, prometheus.GaugeValue, float64(reserved), name, "reserved")
	}
}
