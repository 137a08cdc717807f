package catalog

import (
	"net/netip"
	"sync"

	"github.com/provisiond/provisiond/ipam"
)

// poolData is the part of a pool's .ip template data that is the same for
// every address.
type poolData struct {
	prefix           int
	netmask, gateway string
	dns              []any
}

func newPoolData(p *ipam.Pool) *poolData {
	params := p.Params(p.First())
	dns := make([]any, len(params.DNS))
	for i, d := range params.DNS {
		dns[i] = d
	}
	return &poolData{prefix: params.Prefix, netmask: params.Netmask, gateway: params.Gateway, dns: dns}
}

// ipCache is a snapshot's .ip data: the per-pool constants, computed when
// the snapshot is compiled, and the maps already built, by pool and
// address, so that a machine that asks again costs no allocation. It dies
// with its snapshot, like the render caches, and is bounded: it starts
// over beyond maxIPData entries (a few tens of MB).
type ipCache struct {
	pools map[*ipam.Pool]*poolData // read-only after newIPCache

	mu sync.RWMutex
	m  map[ipKey]map[string]any
}

type ipKey struct {
	pool *ipam.Pool
	addr netip.Addr
}

const maxIPData = 1 << 16

func newIPCache(pools map[string]*ipam.Pool) *ipCache {
	c := &ipCache{pools: make(map[*ipam.Pool]*poolData, len(pools))}
	for _, p := range pools {
		c.pools[p] = newPoolData(p)
	}
	return c
}

// IPData returns the .ip template data of address a in pool: the same map
// as pool.Params(a).Map(), built from per-pool constants and kept for the
// next request of the same machine, since every request of a machine with
// a lease needs it. The map is shared and must not be modified.
func (s *Snapshot) IPData(pool *ipam.Pool, a netip.Addr) map[string]any {
	c := s.ip
	k := ipKey{pool, a}
	c.mu.RLock()
	d := c.m[k]
	c.mu.RUnlock()
	if d != nil {
		return d
	}
	pd := c.pools[pool]
	if pd == nil {
		// Not one of this snapshot's pools: build, do not keep.
		return pool.Params(a).Map()
	}
	d = map[string]any{
		"address": a.String(), "prefix": pd.prefix, "cidr": netip.PrefixFrom(a, pd.prefix).String(),
		"netmask": pd.netmask, "gateway": pd.gateway, "dns": pd.dns, "pool": pool.Name,
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxIPData {
		c.m = make(map[ipKey]map[string]any)
	}
	c.m[k] = d
	c.mu.Unlock()
	return d
}
