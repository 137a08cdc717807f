package console

import (
	"net/http"
	"sort"

	"github.com/provisiond/provisiond/groups"
)

// groupRow is a group and the machines it matches.
type groupRow struct {
	ID, Name, Profile, Pool string
	Selector                map[string]string
	Machines                []machineRow
	More                    int
}

// shownMembers bounds the machines listed per group or profile.
const shownMembers = 12

// groups lists groups with the machines each one matches: the group a
// machine was last served, or the one it would match now.
func (c *Console) groups(w http.ResponseWriter, r *http.Request) {
	snap := c.cfg.Catalogs.Current()
	var rows []groupRow
	if snap != nil {
		byGroup := map[string][]machineRow{}
		for _, m := range machineRows(snap, c.cfg.Inventory.List(), c.cfg.Leases.All()) {
			if m.Group != "" {
				byGroup[m.Group] = append(byGroup[m.Group], m)
			}
		}
		for _, id := range groupOrder(snap.Index.Groups()) {
			g := snap.Catalog.Groups[id]
			row := groupRow{ID: g.ID, Name: g.Name, Profile: g.Profile, Pool: g.Pool, Selector: g.Selector.Map()}
			ms := byGroup[id]
			if len(ms) > shownMembers {
				row.More = len(ms) - shownMembers
				ms = ms[:shownMembers]
			}
			row.Machines = ms
			rows = append(rows, row)
		}
	}
	c.render(w, r, http.StatusOK, "groups", page{Title: "Groups", Nav: "groups", Data: rows})
}

// groupOrder returns the group ids in the order they are listed.
func groupOrder(gs []*groups.Group) []string {
	ids := make([]string, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	sort.Strings(ids)
	return ids
}

// profileRow is a profile, the groups naming it and their machines.
type profileRow struct {
	ID, Name, Kernel         string
	Initrd, Args             []string
	Ignition, Cloud, Generic string
	Groups                   []string
	Machines                 []machineRow
	More                     int
}

func (c *Console) profiles(w http.ResponseWriter, r *http.Request) {
	snap := c.cfg.Catalogs.Current()
	var rows []profileRow
	if snap != nil {
		byProfile := map[string][]machineRow{}
		for _, m := range machineRows(snap, c.cfg.Inventory.List(), c.cfg.Leases.All()) {
			if m.Profile != "" {
				byProfile[m.Profile] = append(byProfile[m.Profile], m)
			}
		}
		for _, id := range sortedKeys(snap.Catalog.Profiles) {
			p := snap.Catalog.Profiles[id]
			row := profileRow{ID: p.ID, Name: p.Name, Kernel: p.Boot.Kernel, Initrd: p.Boot.Initrd, Args: p.Boot.Args,
				Ignition: p.IgnitionID, Cloud: p.CloudID, Generic: p.GenericID}
			for _, gid := range sortedKeys(snap.Catalog.Groups) {
				if snap.Catalog.Groups[gid].Profile == id {
					row.Groups = append(row.Groups, gid)
				}
			}
			ms := byProfile[id]
			if len(ms) > shownMembers {
				row.More = len(ms) - shownMembers
				ms = ms[:shownMembers]
			}
			row.Machines = ms
			rows = append(rows, row)
		}
	}
	c.render(w, r, http.StatusOK, "profiles", page{Title: "Profiles", Nav: "profiles", Data: rows})
}

// activityRows is how many rows the activity page's live list shows.
const activityRows = 30

// activity shows boot events as they happen.
func (c *Console) activity(w http.ResponseWriter, r *http.Request) {
	d := struct {
		Recent []liveEvent
		Rows   int
	}{recentEvents(c.cfg.Inventory.List(), activityRows, c.cfg.Prefix), activityRows}
	c.render(w, r, http.StatusOK, "activity", page{Title: "Live activity", Nav: "activity", Live: true, Data: d})
}
