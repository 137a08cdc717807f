package server

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
)

// Inventory lists what the boot path recorded of each machine.
type Inventory interface {
	List() []inventory.Machine
}

// AdminConfig holds the admin API's dependencies.
type AdminConfig struct {
	Logger    *slog.Logger
	Boot      *Server // whose snapshot the API reads
	Inventory Inventory
	Leases    *ipam.Table
}

// Admin is the admin API handler (/api/v1/...).
type Admin struct {
	cfg    AdminConfig
	router chi.Router
}

// NewAdmin returns the admin API handler.
func NewAdmin(cfg AdminConfig) *Admin {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Admin{cfg: cfg}
	a.router = a.routes()
	return a
}

// ServeHTTP implements http.Handler.
func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.router.ServeHTTP(w, r) }

// routes registers every admin route in one place.
func (a *Admin) routes() chi.Router {
	r := chi.NewRouter()
	r.Get("/api/v1/machines", a.listMachines)
	r.Get("/api/v1/leases", a.listLeases)
	return r
}

// MachineView is one machine as the admin API shows it: its registration
// (when registered), what the boot path saw, and its leases.
type MachineView struct {
	Name         string            `json:"name,omitempty"`
	MAC          string            `json:"mac,omitempty"`
	UUID         string            `json:"uuid,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	Registered   bool              `json:"registered"`
	State        inventory.State   `json:"state,omitempty"`
	FirstSeen    *time.Time        `json:"first_seen,omitempty"`
	LastSeen     *time.Time        `json:"last_seen,omitempty"`
	LastEndpoint string            `json:"last_endpoint,omitempty"`
	Group        string            `json:"group,omitempty"`
	Profile      string            `json:"profile,omitempty"`
	Leases       map[string]string `json:"leases"`
	Events       []inventory.Event `json:"events,omitempty"`
}

func (a *Admin) machineViews() []MachineView {
	views := map[string]*MachineView{}
	key := func(mac, uuid string) string { return inventory.Key(mac, uuid) }
	if snap := a.cfg.Boot.Snapshot(); snap != nil {
		for _, m := range snap.Catalog.Machines {
			views[key(m.MAC, m.UUID)] = &MachineView{Name: m.Name, MAC: m.MAC, UUID: m.UUID, Labels: m.Labels, Registered: true}
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
			first, last := rec.FirstSeen, rec.LastSeen
			v.State, v.FirstSeen, v.LastSeen = rec.State, &first, &last
			v.LastEndpoint, v.Group, v.Profile, v.Events = rec.LastEndpoint, rec.Group, rec.Profile, rec.Events
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

func (a *Admin) listMachines(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.machineViews())
}

func (a *Admin) listLeases(w http.ResponseWriter, r *http.Request) {
	pool := r.URL.Query().Get("pool")
	var out []ipam.Lease
	for _, l := range a.cfg.Leases.All() {
		if pool == "" || l.Pool == pool {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pool != out[j].Pool {
			return out[i].Pool < out[j].Pool
		}
		return out[i].Address.Less(out[j].Address)
	})
	if out == nil {
		out = []ipam.Lease{}
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
