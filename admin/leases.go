package admin

import (
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"sort"

	"github.com/go-chi/chi/v5"

	"github.com/provisiond/provisiond/ipam"
)

// LeaseView is a lease with the name of the registered machine holding it.
type LeaseView struct {
	ipam.Lease
	Machine string `json:"machine,omitempty"`
}

// listLeases answers every lease, by pool then address; ?pool= filters.
func (a *API) listLeases(w http.ResponseWriter, r *http.Request) {
	pool := r.URL.Query().Get("pool")
	names := map[string]string{}
	if snap := a.cfg.Catalogs.Current(); snap != nil {
		for _, m := range snap.Catalog.Machines {
			if m.MAC != "" {
				names[m.MAC] = m.Name
			}
		}
	}
	out := []LeaseView{}
	for _, l := range a.cfg.Leases.All() {
		if pool == "" || l.Pool == pool {
			out = append(out, LeaseView{Lease: l, Machine: names[l.MAC]})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pool != out[j].Pool {
			return out[i].Pool < out[j].Pool
		}
		return out[i].Address.Less(out[j].Address)
	})
	writeJSON(w, http.StatusOK, out)
}

// releaseLease deletes a lease, freeing its address: the machine gets the
// lowest free address of the pool the next time it boots. A lease pinned
// by a registered machine is refused with 409, since the next catalog
// change would pin it again: remove the pin from the machine instead.
func (a *API) releaseLease(w http.ResponseWriter, r *http.Request) {
	pool := chi.URLParam(r, "pool")
	addr, err := netip.ParseAddr(chi.URLParam(r, "address"))
	if err != nil {
		writeAPIError(w, r, &apiError{Code: http.StatusBadRequest, Field: "address", Msg: err.Error()})
		return
	}
	if snap := a.cfg.Catalogs.Current(); snap != nil {
		for _, name := range slices.Sorted(maps.Keys(snap.Catalog.Machines)) {
			m := snap.Catalog.Machines[name]
			if pin, ok := m.Leases[pool]; ok && pin == addr.String() {
				writeAPIError(w, r, &apiError{Code: http.StatusConflict, Field: "leases." + pool,
					Msg: fmt.Sprintf("%s in pool %s is pinned by machine %s: remove the pin (PUT /api/v1/machines/%s) to release it", addr, pool, name, name)})
				return
			}
		}
	}
	if a.cfg.Releaser == nil {
		writeAPIError(w, r, &apiError{Code: http.StatusNotImplemented, Msg: "this server cannot release leases"})
		return
	}
	l, err := a.cfg.Releaser.Release(r.Context(), pool, addr)
	if err != nil {
		writeAPIError(w, r, err)
		return
	}
	a.log.Info("lease released", "pool", l.Pool, "address", l.Address.String(), "mac", l.MAC, "who", identityFrom(r.Context()))
	w.WriteHeader(http.StatusNoContent)
}
