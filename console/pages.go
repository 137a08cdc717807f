package console

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
)

// liveRows is how many rows the live list on the machines page shows.
const liveRows = 8

type machinesData struct {
	Filter  machineFilter
	Rows    []machineRow
	Total   int
	Matched int
	// States, Groups are the filter's choices.
	States []string
	Groups []string
	Counts []stateCount
	Recent []liveEvent
}

type stateCount struct {
	State string
	N     int
}

// knownStates are offered in the state filter even when no machine is in
// them.
var knownStates = []string{string(inventory.Discovered), string(inventory.Booting), string(inventory.Configured), "unseen"}

// machines lists machines, filtered by state, group and label, searched
// by mac, uuid or name.
func (c *Console) machines(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := machineFilter{State: q.Get("state"), Group: q.Get("group"), Label: q.Get("label"), Q: q.Get("q")}
	snap := c.cfg.Catalogs.Current()
	inv := c.cfg.Inventory.List()
	all := machineRows(snap, inv, c.cfg.Leases.All())
	d := machinesData{Filter: f, Total: len(all), Recent: recentEvents(inv, liveRows, c.cfg.Prefix)}
	counts := map[string]int{}
	for i := range all {
		counts[all[i].State]++
		if f.match(&all[i]) {
			d.Matched++
			if len(d.Rows) < c.cfg.MaxRows {
				d.Rows = append(d.Rows, all[i])
			}
		}
	}
	states := append([]string(nil), knownStates...)
	for s := range counts {
		if !contains(states, s) {
			states = append(states, s)
		}
	}
	for _, s := range states {
		d.Counts = append(d.Counts, stateCount{s, counts[s]})
	}
	d.States = states
	if snap != nil {
		d.Groups = sortedKeys(snap.Catalog.Groups)
	}
	c.render(w, r, http.StatusOK, "machines", page{Title: "Machines", Nav: "machines", Live: true, Data: d})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

type machineData struct {
	M       machineRow
	Events  []inventory.Event
	Preview *Preview
	// PreviewErr says why there is no preview.
	PreviewErr string
	Actions    []Action
	LiveQuery  string
}

// findMachine returns the machine a console URL names: a registered name,
// a mac, or an inventory key.
func (c *Console) findMachine(id string) (machineRow, bool) {
	snap := c.cfg.Catalogs.Current()
	mac, _ := groups.ParseMAC(id)
	for _, m := range machineRows(snap, c.cfg.Inventory.List(), c.cfg.Leases.All()) {
		if m.ID == id || m.Key == id || (mac != "" && m.MAC == mac) {
			return m, true
		}
	}
	return machineRow{}, false
}

// machine shows one machine: facts, labels, leases, its event timeline
// (live), what it would be served now, and its lifecycle actions.
func (c *Console) machine(w http.ResponseWriter, r *http.Request) {
	m, ok := c.findMachine(chi.URLParam(r, "id"))
	if !ok {
		c.errorPage(w, r, http.StatusNotFound, "No machine "+chi.URLParam(r, "id")+" is registered or was seen.")
		return
	}
	d := machineData{M: m}
	if rec, ok := c.cfg.Inventory.Get(m.Key); ok {
		for i := len(rec.Events) - 1; i >= 0; i-- { // newest first
			d.Events = append(d.Events, rec.Events[i])
		}
	}
	if m.MAC != "" {
		d.LiveQuery = "mac=" + m.MAC
	} else if m.UUID != "" {
		d.LiveQuery = "uuid=" + m.UUID
	}
	if c.cfg.Previewer != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		p, err := c.cfg.Previewer.Preview(ctx, m.MAC, m.UUID)
		cancel()
		if err != nil {
			d.PreviewErr = err.Error()
		}
		d.Preview = p
	}
	if c.cfg.Lifecycle != nil {
		d.Actions = c.cfg.Lifecycle.Actions(m.Key)
	}
	title := m.Name
	if title == "" {
		title = m.Key
	}
	c.render(w, r, http.StatusOK, "machine", page{Title: title, Nav: "machines", Live: true, Data: d})
}

// action performs a lifecycle action and goes back to the machine's page
// with its outcome.
func (c *Console) action(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	m, ok := c.findMachine(id)
	if !ok {
		c.errorPage(w, r, http.StatusNotFound, "No machine "+id+" is registered or was seen.")
		return
	}
	if c.cfg.Lifecycle == nil {
		c.errorPage(w, r, http.StatusNotImplemented, "This server has no machine lifecycle actions.")
		return
	}
	ses := sessionFrom(r.Context())
	action := r.PostForm.Get("action")
	msg, err := c.cfg.Lifecycle.Do(r.Context(), m.Key, action, ses.who)
	if err != nil {
		msg = "“" + action + "” failed: " + err.Error()
		c.log.Warn("console: action failed", "machine", m.Key, "action", action, "who", ses.who, "err", err)
	} else {
		c.log.Info("console: action", "machine", m.Key, "action", action, "who", ses.who)
	}
	c.sessions.setFlash(ses.id, msg)
	http.Redirect(w, r, c.cfg.Prefix+"/machines/"+url.PathEscape(m.ID), http.StatusSeeOther)
}

// pools draws each pool's addresses: pinned, leased, reserved and free.
func (c *Console) pools(w http.ResponseWriter, r *http.Request) {
	rows := poolRows(c.cfg.Catalogs.Current(), c.cfg.Leases.All())
	c.render(w, r, http.StatusOK, "pools", page{Title: "Pools", Nav: "pools", Data: rows})
}

type leaseRow struct {
	ipam.Lease
	Machine string
	ID      string
	Created time.Time
}

type leasesData struct {
	Pool    string
	Pools   []string
	Rows    []leaseRow
	Matched int
}

// leases lists every lease by pool and address; ?pool= filters.
func (c *Console) leases(w http.ResponseWriter, r *http.Request) {
	pool := r.URL.Query().Get("pool")
	names := map[string]string{}
	d := leasesData{Pool: pool}
	if snap := c.cfg.Catalogs.Current(); snap != nil {
		for _, m := range snap.Catalog.Machines {
			if m.MAC != "" {
				names[m.MAC] = m.Name
			}
		}
		d.Pools = sortedKeys(snap.Catalog.Pools)
	}
	all := c.cfg.Leases.All()
	sort.Slice(all, func(i, j int) bool {
		if all[i].Pool != all[j].Pool {
			return all[i].Pool < all[j].Pool
		}
		return all[i].Address.Less(all[j].Address)
	})
	for _, l := range all {
		if pool != "" && l.Pool != pool {
			continue
		}
		d.Matched++
		if len(d.Rows) < c.cfg.MaxRows {
			id := names[l.MAC]
			if id == "" {
				id = l.MAC
			}
			d.Rows = append(d.Rows, leaseRow{Lease: l, Machine: names[l.MAC], ID: id, Created: time.Unix(l.Created, 0)})
		}
	}
	c.render(w, r, http.StatusOK, "leases", page{Title: "Leases", Nav: "leases", Data: d})
}
