package admin

import (
	"net/http"
	"sort"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/inventory"
)

// MachineView is one machine as the admin API shows it: its registration
// (when registered), what the boot path saw, and its leases.
type MachineView struct {
	Name   string            `json:"name,omitempty"`
	MAC    string            `json:"mac,omitempty"`
	UUID   string            `json:"uuid,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	// Pins are the registration's pinned addresses by pool (the "leases"
	// of machines/<name>.json).
	Pins         map[string]string `json:"pins,omitempty"`
	Registered   bool              `json:"registered"`
	State        inventory.State   `json:"state,omitempty"`
	FirstSeen    *time.Time        `json:"first_seen,omitempty"`
	LastSeen     *time.Time        `json:"last_seen,omitempty"`
	LastEndpoint string            `json:"last_endpoint,omitempty"`
	Group        string            `json:"group,omitempty"`
	Profile      string            `json:"profile,omitempty"`
	// Leases are the addresses the machine holds, by pool.
	Leases map[string]string `json:"leases"`
	Events []inventory.Event `json:"events,omitempty"`
	// Changes is the machine's state timeline, oldest first.
	Changes []inventory.Change `json:"changes,omitempty"`
	// Hardware is what the machine's boot requests said of it.
	Hardware *inventory.Hardware `json:"hardware,omitempty"`
	// BMC is the type of the registration's bmc (ipmi, redfish), "" for
	// none: never its address, user or password.
	BMC string `json:"bmc,omitempty"`
}

func (a *API) machineViews() []MachineView {
	views := map[string]*MachineView{}
	key := func(mac, uuid string) string { return inventory.Key(mac, uuid) }
	if snap := a.cfg.Catalogs.Current(); snap != nil {
		for _, m := range snap.Catalog.Machines {
			v := &MachineView{Name: m.Name, MAC: m.MAC, UUID: m.UUID, Labels: m.Labels, Pins: m.Leases, Registered: true}
			if m.BMC != nil {
				v.BMC = string(m.BMC.Type)
			}
			views[key(m.MAC, m.UUID)] = v
		}
	}
	if a.cfg.Inventory != nil {
		for _, rec := range a.cfg.Inventory.List() {
			v := views[rec.Key]
			if v == nil && rec.MAC == "" {
				// a uuid-only record may belong to a machine registered by mac
				for _, cand := range views {
					if cand.UUID != "" && cand.UUID == rec.UUID {
						v = cand
					}
				}
			}
			if v == nil {
				v = &MachineView{MAC: rec.MAC, UUID: rec.UUID}
				views[rec.Key] = v
			}
			if v.UUID == "" {
				v.UUID = rec.UUID
			}
			// a machine only marked by an operator was never seen: no time
			v.State, v.FirstSeen, v.LastSeen = rec.State, seenAt(rec.FirstSeen), seenAt(rec.LastSeen)
			v.LastEndpoint, v.Group, v.Profile, v.Events = rec.LastEndpoint, rec.Group, rec.Profile, rec.Events
			v.Changes, v.Hardware = rec.Changes, rec.Hardware
		}
	}
	for _, l := range a.cfg.Leases.All() {
		v := views[l.MAC]
		if v == nil {
			v = &MachineView{MAC: l.MAC}
			views[l.MAC] = v
		}
		if v.Leases == nil {
			v.Leases = map[string]string{}
		}
		v.Leases[l.Pool] = l.Address.String()
	}
	out := make([]MachineView, 0, len(views))
	for _, v := range views {
		if v.Leases == nil {
			v.Leases = map[string]string{}
		}
		out = append(out, *v)
	}
	// Registered machines first, by name; then the discovered ones, by mac.
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.Name == "") != (b.Name == "") {
			return a.Name != ""
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.MAC < b.MAC
	})
	return out
}

// listMachines answers every machine: registered ones, and those only seen
// (discovery). ?state= filters by inventory state, ?registered=true|false
// by registration.
func (a *API) listMachines(w http.ResponseWriter, r *http.Request) {
	state, reg := r.URL.Query().Get("state"), r.URL.Query().Get("registered")
	out := []MachineView{}
	for _, v := range a.machineViews() {
		if state != "" && string(v.State) != state {
			continue
		}
		if reg != "" && (reg == "true") != v.Registered {
			continue
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
}

// getMachine answers one machine by registered name, or by mac or uuid for
// a machine that is only seen. The ETag is that of the registration, so a
// PUT of machines/<name> can be made conditional on what was read.
func (a *API) getMachine(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "name")
	mac, _ := groups.ParseMAC(id)
	uuid, _ := groups.ParseUUID(id)
	for _, v := range a.machineViews() {
		if (v.Registered && v.Name == id) || (!v.Registered && ((mac != "" && v.MAC == mac) || (uuid != "" && v.UUID == uuid))) {
			if v.Registered {
				if snap := a.cfg.Catalogs.Current(); snap != nil {
					if m, ok := snap.Catalog.Machines[id]; ok {
						w.Header().Set("ETag", etagOf(m))
					}
				}
			}
			writeJSON(w, http.StatusOK, v)
			return
		}
	}
	writeAPIError(w, r, &apiError{Code: http.StatusNotFound, Msg: "machine " + id + " is neither registered nor seen"})
}

// registration returns the registered machine named id.
func registration(c *catalog.Catalog, id string) (*catalog.Machine, bool) {
	m, ok := c.Machines[id]
	return m, ok
}

// seenAt is t, or nil for the zero time (never seen), so that the view
// omits it rather than answering year 1.
func seenAt(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
