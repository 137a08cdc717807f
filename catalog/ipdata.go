package catalog

import (
	"net/netip"
	"sync"

	"github.com/provisiond/provisiond/ipam"
)

// poolData is the part of a pool's .ip template data that is the same for
// every address, computed once per snapshot.
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

// poolDataCache holds poolData by pool. Pools are immutable once compiled
// into a snapshot, so an entry never goes stale; the cache starts over
// when it holds many more pools than any catalog has, so that reloads
// cannot grow it without bound.
var poolDataCache struct {
	sync.RWMutex
	m map[*ipam.Pool]*poolData
}

func poolDataOf(p *ipam.Pool) *poolData {
	poolDataCache.RLock()
	pd := poolDataCache.m[p]
	poolDataCache.RUnlock()
	if pd != nil {
		return pd
	}
	pd = newPoolData(p)
	poolDataCache.Lock()
	if poolDataCache.m == nil || len(poolDataCache.m) > 4096 {
		poolDataCache.m = map[*ipam.Pool]*poolData{}
	}
	poolDataCache.m[p] = pd
	poolDataCache.Unlock()
	return pd
}

// ipDataCache holds the .ip maps already built, by pool and address, so
// that a machine that asks again costs no allocation. It is bounded: it
// starts over beyond maxIPData entries (a few tens of MB).
var ipDataCache struct {
	sync.RWMutex
	m map[ipKey]map[string]any
}

type ipKey struct {
	pool *ipam.Pool
	addr netip.Addr
}

const maxIPData = 1 << 16

// IPData returns the .ip template data of address a in pool: the same map
// as pool.Params(a).Map(), built from per-pool constants and kept for the
// next request of the same machine, since every request of a machine with
// a lease needs it. The map is shared and must not be modified.
func (s *Snapshot) IPData(pool *ipam.Pool, a netip.Addr) map[string]any {
	k := ipKey{pool, a}
	ipDataCache.RLock()
	d := ipDataCache.m[k]
	ipDataCache.RUnlock()
	if d != nil {
		return d
	}
	pd := poolDataOf(pool)
	d = map[string]any{
		"address": a.String(), "prefix": pd.prefix, "cidr": netip.PrefixFrom(a, pd.prefix).String(),
		"netmask": pd.netmask, "gateway": pd.gateway, "dns": pd.dns, "pool": pool.Name,
	}
	ipDataCache.Lock()
	if ipDataCache.m == nil || len(ipDataCache.m) >= maxIPData {
		ipDataCache.m = make(map[ipKey]map[string]any)
	}
	ipDataCache.m[k] = d
	ipDataCache.Unlock()
	return d
}
