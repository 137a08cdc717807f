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
// failure included, is recorded in the inventory. A query seen before in
// the snapshot served is neither parsed nor matched again (queryCache).
// gen is the lease tables' generation before the lease was looked up,
// what an answer kept from this request is valid for (keep).
func (s *Server) resolve(w http.ResponseWriter, r *http.Request, opt resolve.Options) (res resolve.Result, gen uint64, err error) {
	f, err := s.facts(w, r)
	if err != nil {
		return resolve.Result{}, 0, err
	}
	info := infoFrom(w)
	if info != nil {
		info.mac = string(f.MAC)
	}
	if sv := s.snap.Load(); sv == nil {
		res, err = s.resolver.Resolve(r.Context(), nil, f, opt)
	} else {
		gen = s.leaseGen(sv)
		m, merr := s.match(info, sv, f)
		res, err = s.resolver.Matched(r.Context(), sv.snap, f, m, merr, opt)
	}
	if m := res.Match; m != nil && m.Group != nil && info != nil {
		// m.Profile is nil when the group names a missing profile.
		info.group, info.profile = m.Group.ID, m.Group.Profile
	}
	if err != nil {
		s.record(w, r, res.Match, toHTTP(err).Code, false)
		return res, gen, err
	}
	return res, gen, nil
}

// match returns what sv's snapshot matches the facts to: from the
// request's query cache entry when it was matched in this epoch, else
// from Snapshot.Resolve, then kept in a new entry for the next request.
func (s *Server) match(info *reqInfo, sv *served, f resolve.Facts) (*catalog.Match, error) {
	var e *queryEntry
	if info != nil {
		e = info.query
	}
	if e != nil && e.epoch == sv.epoch {
		return e.match, e.err
	}
	m, err := sv.snap.Resolve(f.Labels)
	if e != nil {
		// A new entry (without the answers of another epoch's match).
		n := &queryEntry{raw: e.raw, facts: e.facts, hw: e.hw, epoch: sv.epoch, match: m, err: err}
		if m != nil && m.Group != nil {
			n.group, n.profile, n.installOnce = m.Group.ID, m.Group.Profile, installOnce(m)
		}
		s.queries.put(n)
		info.query = n
	}
	return m, err
}

// facts returns the request's facts, parsed on first use and kept in the
// request's log info, so that the token check and the handler parse the
// query once between them; a query in the query cache is not parsed.
func (s *Server) facts(w http.ResponseWriter, r *http.Request) (resolve.Facts, error) {
	info := infoFrom(w)
	if info != nil && info.parsed {
		return info.facts, nil
	}
	raw := r.URL.RawQuery
	var f resolve.Facts
	e := s.queries.get(raw)
	if e != nil {
		f = e.facts
	} else {
		var err error
		if f, err = resolve.ParseQuery(raw); err != nil {
			return f, err
		}
		if info != nil && len(raw) <= maxCachedQuery {
			e = &queryEntry{raw: raw, facts: f, hw: hardwareOf(f.Labels)}
			s.queries.put(e)
		}
	}
	f.ServerURL = s.serverURL(r)
	if info != nil {
		info.facts, info.parsed, info.query = f, true, e
	}
	return f, nil
}

// hardwareOf is what the inventory keeps of a query's labels.
func hardwareOf(q map[string]string) inventory.Hardware {
	if len(q) == 0 {
		return inventory.Hardware{}
	}
	return inventory.HardwareFrom(func(k string) string { return q[k] })
}

// record adds the request to the machine's inventory, with the hardware
// facts its query carries (serial, arch, ...: inventory.HardwareFrom).
// localBoot says the answer was install once's local-boot script.
func (s *Server) record(w http.ResponseWriter, r *http.Request, m *catalog.Match, status int, localBoot bool) {
	if s.cfg.Recorder == nil || m == nil {
		return
	}
	info := infoFrom(w)
	var t time.Time
	if info != nil {
		t = info.start // the request's arrival, the clock read once (requestLog)
	}
	if t.IsZero() {
		t = time.Now()
	}
	e := inventory.Event{Time: t.UTC(), Endpoint: endpointOf(r.URL.Path), Remote: r.RemoteAddr, Status: status, LocalBoot: localBoot}
	if info == nil || info.query == nil || info.query.match != m {
		if m.Group != nil {
			e.Group, e.Profile = m.Group.ID, m.Group.Profile
		}
		e.Hardware = hardwareOf(m.Query)
		s.cfg.Recorder.Record(m.MAC, m.UUID, e)
		return
	}
	q := info.query
	// m's group's id and profile (Server.match), and the hardware facts
	// of m.Query, which are the entry's labels.
	e.Group, e.Profile, e.Hardware = q.group, q.profile, q.hw
	if s.handles == nil {
		s.cfg.Recorder.Record(m.MAC, m.UUID, e)
		return
	}
	// The machine's record, reached from the entry (m's mac and uuid).
	if h := q.inv.Load(); h != nil {
		s.handles.RecordTo(h, e)
	} else if h := s.handles.RecordHandle(m.MAC, m.UUID, e); h != nil {
		q.inv.Store(h)
	}
}

// recordedEndpoints are the paths whose requests the inventory records.
var recordedEndpoints = [...]string{"/ipxe", "/grub", "/ignition", "/cloud", "/generic", "/metadata"}

// endpointOf is path as the inventory keeps it: the route's constant, or a
// copy of its own. r.URL.Path is a substring of the request line, which
// the machine's record would otherwise keep alive with each event (some
// 200 bytes an event, 60 MB at 100,000 machines of three events).
func endpointOf(path string) string {
	for _, p := range recordedEndpoints {
		if path == p {
			return p
		}
	}
	return strings.Clone(path)
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
	kind := answerIPXE
	if layout.Name == catalog.LayoutGRUB.Name {
		local = inventory.LocalBootGRUB
		kind = answerGRUB
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if s.answered(w, r, kind, contentText) {
			return
		}
		req, gen, err := s.resolve(w, r, resolve.Options{BootScript: true})
		if err != nil {
			writeError(w, r, err)
			return
		}
		if req.LocalBoot {
			s.record(w, r, req.Match, http.StatusOK, true)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.Write([]byte(local))
			return
		}
		token := s.cfg.BootTokens.Issue(req.Facts.MAC.String())
		req.Input.BootToken = token
		script, err := req.Snapshot.BootScript(req.Match, req.Input, layout)
		if err != nil {
			s.record(w, r, req.Match, http.StatusInternalServerError, false)
			writeError(w, r, err)
			return
		}
		s.record(w, r, req.Match, http.StatusOK, false)
		s.keep(w, kind, req.Match, gen, token, script, true)
		w.Header()["Content-Type"] = contentText
		w.Write(script)
	}
}

// config serves /ignition, /cloud and /generic.
func (s *Server) config(kind profiles.Kind, contentType string) http.HandlerFunc {
	ct := []string{contentType}
	ak := configAnswer(kind)
	return func(w http.ResponseWriter, r *http.Request) {
		if s.answered(w, r, ak, ct) {
			return
		}
		req, gen, err := s.resolve(w, r, resolve.Options{})
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
			s.record(w, r, req.Match, status, false)
			writeError(w, r, err)
			return
		}
		s.record(w, r, req.Match, http.StatusOK, false)
		s.keep(w, ak, req.Match, gen, "", out, !rawIgnition(kind, req.Match))
		w.Header()["Content-Type"] = ct
		w.Write(out)
	}
}

// metadata serves /metadata: the template data as sorted KEY=value lines,
// or as JSON when the client asks for application/json.
func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	asJSON := wantsJSON(r)
	if !asJSON && s.answered(w, r, answerMetadata, contentText) {
		return
	}
	req, gen, err := s.resolve(w, r, resolve.Options{})
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.record(w, r, req.Match, http.StatusOK, false)
	if asJSON {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(profiles.MetadataData(req.Input)); err != nil {
			s.log.Debug("metadata: writing the response", "err", err)
		}
		return
	}
	env := req.Snapshot.MetadataEnv(req.Match, req.Input)
	s.keep(w, answerMetadata, req.Match, gen, "", env, false)
	w.Header()["Content-Type"] = contentText
	w.Write(env)
}
