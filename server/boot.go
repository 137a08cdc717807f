package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/profiles"
)

// chain answers /boot.ipxe: the fixed script that makes iPXE report the
// machine's facts to /ipxe.
func (s *Server) chain(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(profiles.ChainScript))
}

// request is one boot request, resolved: its match, lease and template
// input.
type request struct {
	snap  *catalog.Snapshot
	match *catalog.Match
	in    profiles.Input
}

// resolve parses the labels, matches the group, gives the machine its lease
// when the group has a pool, and assembles the template input. Every
// outcome, a failure included, is recorded in the inventory.
func (s *Server) resolve(w http.ResponseWriter, r *http.Request) (*request, error) {
	snap := s.snap.Load()
	if snap == nil {
		return nil, &httpError{Code: http.StatusServiceUnavailable, Msg: "catalog not loaded yet"}
	}
	labels, err := groups.FromQuery(r.URL.Query())
	if err != nil {
		return nil, err
	}
	info := infoFrom(r.Context())
	if info != nil {
		info.mac = labels["mac"]
	}
	m, err := snap.Resolve(labels)
	if err != nil {
		s.record(r, m, http.StatusNotFound)
		return nil, err
	}
	if info != nil {
		info.group, info.profile = m.Group.ID, m.Profile.ID
	}
	var ip map[string]any
	if pool := snap.Pool(m); pool != nil {
		if m.MAC == "" {
			err := &httpError{Code: http.StatusBadRequest, Msg: "group " + m.Group.ID + " draws addresses from pool " + pool.Name + ": the request needs a mac", Err: catalog.ErrNeedMAC}
			s.record(r, m, err.Code)
			return nil, err
		}
		l, ok := s.cfg.Leases.Lookup(pool.Name, m.MAC)
		if !ok {
			start := time.Now()
			l, err = s.cfg.Allocator.Allocate(r.Context(), pool, m.MAC)
			s.metrics.storeOp.WithLabelValues("allocate").Observe(time.Since(start).Seconds())
			if err != nil {
				s.record(r, m, toHTTP(err).Code)
				return nil, err
			}
			s.cfg.Leases.Put(l)
			s.log.Info("lease created", "pool", pool.Name, "address", l.Address.String(), "mac", m.MAC, "group", m.Group.ID)
		}
		ip = snap.IPData(pool, l.Address)
	}
	return &request{snap: snap, match: m, in: snap.Input(m, r.URL.RawQuery, serverURL(r), ip)}, nil
}

// record adds the request to the machine's inventory.
func (s *Server) record(r *http.Request, m *catalog.Match, status int) {
	if s.cfg.Recorder == nil || m == nil {
		return
	}
	e := inventory.Event{Time: time.Now().UTC(), Endpoint: r.URL.Path, Remote: r.RemoteAddr, Status: status}
	if m.Group != nil {
		e.Group, e.Profile = m.Group.ID, m.Group.Profile
	}
	s.cfg.Recorder.Record(m.MAC, m.UUID, e)
}

// serverURL is the scheme and host the client used to reach us, so that a
// catalog need not hard-code provisiond's address.
func serverURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// bootScript serves /ipxe and /grub: the profile's boot fields rendered as
// templates and laid out by format.
func (s *Server) bootScript(format func(profiles.Boot) []byte) http.HandlerFunc {
	name := fmt.Sprintf("%p", format) // names the layout in the snapshot's cache
	return func(w http.ResponseWriter, r *http.Request) {
		req, err := s.resolve(w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		req.in.BootToken = s.cfg.BootTokens.Issue(req.match.Query["mac"])
		script, err := req.snap.BootScript(req.match, req.in, name, format)
		if err != nil {
			s.record(r, req.match, http.StatusInternalServerError)
			writeError(w, r, err)
			return
		}
		s.record(r, req.match, http.StatusOK)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(script)
	}
}

// config serves /ignition, /cloud and /generic.
func (s *Server) config(kind profiles.Kind, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, err := s.resolve(w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		out, warnings, err := req.snap.Config(kind, req.match, req.in)
		for _, warn := range warnings {
			s.log.Warn("butane", "group", req.match.Group.ID, "profile", req.match.Profile.ID, "warning", string(warn))
		}
		if err != nil {
			status := toHTTP(err).Code
			s.record(r, req.match, status)
			writeError(w, r, err)
			return
		}
		s.record(r, req.match, http.StatusOK)
		w.Header().Set("Content-Type", contentType)
		w.Write(out)
	}
}

// metadata serves /metadata: the template data as sorted KEY=value lines,
// or as JSON when the client asks for application/json.
func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	req, err := s.resolve(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.record(r, req.match, http.StatusOK)
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(profiles.MetadataData(req.in)); err != nil {
			s.log.Debug("metadata: writing the response", "err", err)
		}
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(req.snap.MetadataEnv(req.match, req.in))
}
