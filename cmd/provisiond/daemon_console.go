package main

import (
	"crypto/tls"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/provisiond/provisiond/admin"
	"github.com/provisiond/provisiond/console"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/lifecycle"
	"github.com/provisiond/provisiond/server"
	"github.com/provisiond/provisiond/storage"
)

// consoleHub returns the live boot event hub and the recorder the boot
// listener, DHCP and TFTP record to: the inventory recorder, teed to the
// hub. Without an admin listener there is no console, and no hub.
func (d *daemon) consoleHub(reg prometheus.Registerer, rec *inventory.Recorder) (*console.Hub, console.Recorder) {
	if d.cfg.AdminAddr == "" {
		return nil, rec
	}
	hub := console.NewHub(0, 0)
	hub.Register(reg)
	return hub, hub.Tee(rec)
}

// consoleDeps is what the console reads, from Start.
type consoleDeps struct {
	hub      *console.Hub
	catalogs *storage.Catalogs
	rec      *inventory.Recorder
	table    *ipam.Table
	bootURL  string
	tokens   *server.BootTokens
	// life carries out the machine page's lifecycle actions; nil: one
	// without power control (reprovision marks the machine and says to
	// power-cycle it). Pass the daemon's own service, with its BMC
	// controller, when it has one.
	life *lifecycle.Service
}

// listenAdmin serves the admin API and, beside it (not inside it), the
// console under /console/ on the admin listener, with the admin API's
// authentication. The console's live views end when the listener shuts
// down, so that they do not hold up the graceful shutdown.
func (d *daemon) listenAdmin(api *admin.API, tc *tls.Config, deps consoleDeps) error {
	var auth console.Authenticator // a nil interface, not a nil *admin.Auth
	if a := api.Auth(); a != nil {
		auth = a
	}
	prev := &console.ResolvePreviewer{Catalogs: deps.catalogs, Leases: deps.table, Inventory: deps.rec, ServerURL: deps.bootURL}
	if deps.tokens != nil {
		prev.IssueToken = deps.tokens.Issue
	}
	life := deps.life
	if life == nil {
		life = &lifecycle.Service{Inventory: deps.hub.TeeInventory(deps.rec), Logger: d.log}
	}
	con, err := console.New(console.Config{
		Logger:    d.log,
		Auth:      auth,
		Catalogs:  deps.catalogs,
		Inventory: deps.rec,
		Leases:    deps.table,
		Hub:       deps.hub,
		Previewer: prev,
		Lifecycle: &console.ServiceActions{Service: life, Catalogs: deps.catalogs, Inventory: deps.rec},
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(con.Prefix()+"/", con)
	mux.Handle("/", api)
	if _, err := d.listen("admin", d.cfg.AdminAddr, mux, tc); err != nil {
		return err
	}
	d.servers[len(d.servers)-1].RegisterOnShutdown(con.Close)
	// SIGHUP re-reads the admin tokens: the sessions of a token removed
	// end with it.
	if a := api.Auth(); a != nil && d.reloadAuth != nil {
		reload := d.reloadAuth
		d.reloadAuth = func() { reload(); con.EndSessions(a.Accepts) }
	}
	return nil
}
