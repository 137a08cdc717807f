package dhcp

import (
	"net/netip"
	"sync"
)

// maxSeen bounds the address -> MAC memory.
const maxSeen = 4096

// ipMACs remembers which MAC was last seen at which address, bounded:
// when full, the oldest entry goes.
type ipMACs struct {
	mu    sync.Mutex
	m     map[netip.Addr]string
	order []netip.Addr
}

func (t *ipMACs) put(ip netip.Addr, mac string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[netip.Addr]string{}
	}
	if _, ok := t.m[ip]; !ok {
		if len(t.order) >= maxSeen {
			delete(t.m, t.order[0])
			t.order = t.order[1:]
		}
		t.order = append(t.order, ip)
	}
	t.m[ip] = mac
}

func (t *ipMACs) get(ip netip.Addr) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	mac, ok := t.m[ip]
	return mac, ok
}
