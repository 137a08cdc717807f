package storage

import (
	"net/netip"
	"sort"

	"github.com/provisiond/provisiond/catalog"
)

// PlanLeases returns the lease operations that go with replacing the
// catalog old by next (whose compiled snapshot is snap):
//   - machines registered in old but not in next (by mac) lose their
//     leases, which frees their addresses;
//   - every pin in next is applied;
//   - every registered machine of next that selects a group with a pool
//     and has no pin there is ensured a lease, so the member list is
//     complete before any machine boots.
//
// The operations are ordered releases, pins, ensures, each sorted by
// machine name, so that allocation order is deterministic.
func PlanLeases(old *catalog.Catalog, snap *catalog.Snapshot) []LeaseOp {
	next := snap.Catalog
	var ops []LeaseOp
	nextMACs := map[string]bool{}
	for _, m := range next.Machines {
		if m.MAC != "" {
			nextMACs[m.MAC] = true
		}
	}
	if old != nil {
		for _, name := range sorted(old.Machines) {
			m := old.Machines[name]
			if m.MAC != "" && !nextMACs[m.MAC] {
				ops = append(ops, LeaseOp{Kind: OpRelease, MAC: m.MAC, Machine: name})
			}
		}
	}
	names := sorted(next.Machines)
	for _, name := range names {
		m := next.Machines[name]
		for _, pool := range sorted(m.Leases) {
			ops = append(ops, LeaseOp{Kind: OpPin, Pool: next.Pools[pool], MAC: m.MAC,
				Address: netip.MustParseAddr(m.Leases[pool]), Machine: name})
		}
	}
	for _, name := range names {
		m := next.Machines[name]
		if m.MAC == "" {
			continue
		}
		g := snap.Index.Select(m.Facts(nil))
		if g == nil || g.Pool == "" {
			continue
		}
		if _, pinned := m.Leases[g.Pool]; pinned {
			continue
		}
		ops = append(ops, LeaseOp{Kind: OpEnsure, Pool: next.Pools[g.Pool], MAC: m.MAC, Machine: name})
	}
	return ops
}

func sorted[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
