package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/profiles"
	"github.com/provisiond/provisiond/resolve"
)

// chain answers /boot.ipxe: the fixed script that makes iPXE report the
// machine's facts to /ipxe.
func (s *Server) chain(w http.ResponseWriter, r *http.Request) {
	w.Header()["Content-Type"] = contentText
	w.Write(chainScript)
}

// chainScript is /boot.ipxe's body, converted once: a conversion per
// request is an allocation of its size (net/http only reads it).
var chainScript = []byte(profiles.ChainScript)

// resolve answers a boot request's first half: it parses the facts (once
// per request: requireToken may have), and resolves them. Every outcome, a
// failure included, is recorded in the inventory.
func (s *Server) resolve(w http.ResponseWriter, r *http.Request, opt resolve.Options) (resolve.Result, error) {
	f, err := s.facts(w, r)
	if err != nil {
		return resolve.Result{}, err
	}
	info := infoFrom(w)
	if info != nil {
		info.mac = string(f.MAC)
	}
	res, err := s.resolver.Resolve(r.Context(), s.snap.Load(), f, opt)
	if m := res.Match; m != nil && m.Group != nil && info != nil {
		// m.Profile is nil when the group names a missing profile.
		info.group, info.profile = m.Group.ID, m.Group.Profile
	}
	if err != nil {
		s.record(r, res.Match, toHTTP(err).Code, false)
		return res, err
	}
	return res, nil
}

// facts returns the request's facts, parsed on first use and kept in the
// request's log info, so that the token check and the handler parse the
// query once between them.
func (s *Server) facts(w http.ResponseWriter, r *http.Request) (resolve.Facts, error) {
	info := infoFrom(w)
	if info != nil && info.parsed {
		return info.facts, nil
	}
	f, err := resolve.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return f, err
	}
	f.ServerURL = s.serverURL(r)
	if info != nil {
		info.facts, info.parsed = f, true
	}
	return f, nil
}

// record adds the request to the machine's inventory, with the hardware
// facts its query carries (serial, arch, ...: inventory.HardwareFrom).
// localBoot says the answer was install once's local-boot script.
func (s *Server) record(r *http.Request, m *catalog.Match, status int, localBoot bool) {
	if s.cfg.Recorder == nil || m == nil {
		return
	}
	e := inventory.Event{Time: time.Now().UTC(), Endpoint: r.URL.Path, Remote: r.RemoteAddr, Status: status, LocalBoot: localBoot}
	if len(m.Query) > 0 {
		e.Hardware = inventory.HardwareFrom(func(k string) string { return m.Query[k] })
	}
	if m.Group != nil {
		e.Group, e.Profile = m.Group.ID, m.Group.Profile
	}
	s.cfg.Recorder.Record(m.MAC, m.UUID, e)
}

// serverURL is the scheme and host the client used to reach us, so that a
// catalog need not hard-code provisiond's address. The last one is kept:
// machines nearly always reach a server by one name.
func (s *Server) serverURL(r *http.Request) string {
	tls := r.TLS != nil
	if u := s.lastURL.Load(); u != nil && u.tls == tls && u.host == r.Host {
		return u.url
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	u := &hostURL{host: r.Host, tls: tls, url: scheme + "://" + r.Host}
	s.lastURL.Store(u)
	return u.url
}

// hostURL is a server URL and the host and scheme it was made of.
type hostURL struct {
	host string
	tls  bool
	url  string
}

// Content types of the boot answers, each value shared by every answer
// (http.Header.Set would allocate it per request); net/http only reads
// them.
var contentText = []string{"text/plain; charset=utf-8"}

// bootScript serves /ipxe and /grub: the profile's boot fields rendered as
// templates and laid out by layout; or, for an installed machine of an
// install-once group or profile, the script that boots its local disk
// (never cached: it depends on the machine's state).
func (s *Server) bootScript(layout catalog.Layout) http.HandlerFunc {
	local := inventory.LocalBootIPXE
	if layout.Name == catalog.LayoutGRUB.Name {
		local = inventory.LocalBootGRUB
	}
	return func(w http.ResponseWriter, r *http.Request) {
		req, err := s.resolve(w, r, resolve.Options{BootScript: true})
		if err != nil {
			writeError(w, r, err)
			return
		}
		if req.LocalBoot {
			s.record(r, req.Match, http.StatusOK, true)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.Write([]byte(local))
			return
		}
		req.Input.BootToken = s.cfg.BootTokens.Issue(req.Facts.MAC.String())
		script, err := req.Snapshot.BootScript(req.Match, req.Input, layout)
		if err != nil {
			s.record(r, req.Match, http.StatusInternalServerError, false)
			writeError(w, r, err)
			return
		}
		s.record(r, req.Match, http.StatusOK, false)
		w.Header()["Content-Type"] = contentText
		w.Write(script)
	}
}

// config serves /ignition, /cloud and /generic.
func (s *Server) config(kind profiles.Kind, contentType string) http.HandlerFunc {
	ct := []string{contentType}
	return func(w http.ResponseWriter, r *http.Request) {
		req, err := s.resolve(w, r, resolve.Options{})
		if err != nil {
			writeError(w, r, err)
			return
		}
		out, warnings, err := req.Snapshot.Config(kind, req.Match, req.Input)
		for _, warn := range warnings {
			s.log.Warn("butane", "group", req.Match.Group.ID, "profile", req.Match.Profile.ID, "warning", string(warn))
		}
		if err != nil {
			status := toHTTP(err).Code
			s.record(r, req.Match, status, false)
			writeError(w, r, err)
			return
		}
		s.record(r, req.Match, http.StatusOK, false)
		w.Header()["Content-Type"] = ct
		w.Write(out)
	}
}

// metadata serves /metadata: the template data as sorted KEY=value lines,
// or as JSON when the client asks for application/json.
func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	req, err := s.resolve(w, r, resolve.Options{})
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.record(r, req.Match, http.StatusOK, false)
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(profiles.MetadataData(req.Input)); err != nil {
			s.log.Debug("metadata: writing the response", "err", err)
		}
		return
	}
	w.Header()["Content-Type"] = contentText
	w.Write(req.Snapshot.MetadataEnv(req.Match, req.Input))
}
