package admin

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/profiles"
	"github.com/provisiond/provisiond/resolve"
)

// render answers GET /api/v1/render/{endpoint}?mac=...: the exact body the
// boot endpoint would answer for this query, without recording a boot
// and without creating a lease (see preview). Headers say what was
// chosen: X-Provisiond-Group, X-Provisiond-Profile, X-Provisiond-Lease
// (none, existing, pinned, preview) and X-Provisiond-Address; for an
// installed machine of an install_once group or profile, ipxe and grub
// render the local-boot script with X-Provisiond-Local-Boot: true.
// .server.url is X-Provisiond-Server-URL when sent, else the boot
// listener's URL.
func (a *API) render(w http.ResponseWriter, r *http.Request) {
	endpoint := chi.URLParam(r, "endpoint")
	switch endpoint {
	case "ipxe", "grub", "ignition", "cloud", "generic", "metadata":
	default:
		writeAPIError(w, r, &apiError{Code: http.StatusNotFound, Field: "endpoint", Msg: "unknown endpoint " + endpoint + ": want ipxe, grub, ignition, cloud, generic or metadata"})
		return
	}
	p, err := a.preview(r, resolve.Options{BootScript: endpoint == "ipxe" || endpoint == "grub"})
	if err != nil {
		writeAPIError(w, r, err)
		return
	}
	if p.LocalBoot {
		// install once: what the boot listener answers this installed
		// machine (docs/lifecycle.md)
		h := w.Header()
		h.Set("X-Provisiond-Group", p.Match.Group.ID)
		h.Set("X-Provisiond-Profile", p.Match.Profile.ID)
		h.Set("X-Provisiond-Local-Boot", "true")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Type", "text/plain; charset=utf-8")
		local := inventory.LocalBootIPXE
		if endpoint == "grub" {
			local = inventory.LocalBootGRUB
		}
		w.Write([]byte(local))
		return
	}
	in := p.Input
	if (endpoint == "ipxe" || endpoint == "grub") && a.cfg.BootTokens != nil {
		in.BootToken = a.cfg.BootTokens.Issue(p.Facts.MAC.String())
	}
	h := w.Header()
	h.Set("X-Provisiond-Group", p.Match.Group.ID)
	h.Set("X-Provisiond-Profile", p.Match.Profile.ID)
	h.Set("X-Provisiond-Lease", p.LeaseState.String())
	if p.Lease.Address.IsValid() {
		h.Set("X-Provisiond-Address", p.Lease.Address.String())
	}
	h.Set("Cache-Control", "no-store")
	var out []byte
	contentType := "text/plain; charset=utf-8"
	switch endpoint {
	case "ipxe":
		out, err = p.Snapshot.BootScript(p.Match, in, catalog.LayoutIPXE)
	case "grub":
		out, err = p.Snapshot.BootScript(p.Match, in, catalog.LayoutGRUB)
	case "ignition", "cloud", "generic":
		kind := profiles.Kind(endpoint)
		var warnings []profiles.Warning
		out, warnings, err = p.Snapshot.Config(kind, p.Match, in)
		for _, warn := range warnings {
			h.Add("X-Provisiond-Warning", strings.ReplaceAll(string(warn), "\n", " "))
		}
		if kind == profiles.KindIgnition {
			contentType = "application/json"
		}
	case "metadata":
		data := profiles.MetadataData(in)
		if strings.Contains(r.Header.Get("Accept"), "application/json") {
			contentType = "application/json"
			out, err = json.MarshalIndent(data, "", "  ")
			out = append(out, '\n')
		} else {
			out = profiles.EnvFile(data)
		}
	}
	if err != nil {
		writeAPIError(w, r, &renderError{err})
		return
	}
	h.Set("Content-Type", contentType)
	w.Write(out)
}
