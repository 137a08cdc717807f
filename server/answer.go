package server

import (
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/profiles"
)

// The answers a query cache entry keeps (queryEntry.answers), one per
// endpoint that renders from the match alone.
const (
	answerIPXE = iota
	answerGRUB
	answerIgnition
	answerCloud
	answerGeneric
	answerMetadata // the KEY=value lines, not the JSON
	answerKinds
)

// answer is an endpoint's rendered answer to one query cache entry's
// query, as the render caches had it: a request of the same query is
// answered with it without building a render cache key or looking it up,
// nor reading the lease and the template input again. It is valid for
// exactly what the answer depends on besides the entry's query and match
// (catalog.Snapshot's cacheKey: group, query, mac, server URL, boot
// token, lease address, lease generation): the snapshot epoch the match
// is of, the server URL, the boot token (/ipxe, /grub), and the
// generations of the lease tables (the resolver's, whose lease gives the
// address and .ip, and the snapshot's, which members reads), read before
// the lease was looked up: any lease created, changed or deleted since
// then, of any machine, makes it stale. It is never modified once stored.
type answer struct {
	epoch uint64
	url   string
	token string
	gen   uint64
	body  []byte
	// hit: the render path would count a render cache hit for it
	// (catalog.CacheStats), which the answer's use counts instead.
	hit bool
}

// leaseGen reads the generation the answers of sv's snapshot depend on:
// the resolver's lease table's, plus the snapshot's when it reads another
// one (in provisiond serve they are the same table). Generations only
// grow, so their sum is the same only when neither changed.
func (s *Server) leaseGen(sv *served) uint64 {
	g := s.cfg.Leases.Generation()
	if t := sv.snap.Leases(); t != s.cfg.Leases {
		g += t.Generation()
	}
	return g
}

// maxAnswerBytes bounds the bytes of the answers stored since the query
// cache was last emptied (Swap, or this bound): answers share their bytes
// with the render caches, which start over when full, and would otherwise
// keep them alive. Past it the query cache starts over too. The answers of
// the 1,000 machines bootstorm cycles through are about 1.5 MB.
// maxAnswer is the largest answer kept.
const (
	maxAnswerBytes = 16 << 20
	maxAnswer      = maxAnswerBytes / 64
)

// answered writes the answer of kind that the request's query cache entry
// keeps, when it is valid for this request, and reports whether it did.
// It records the request in the inventory and fills the log info as the
// render path does. Anything else (no entry, an entry of another epoch, a
// failed match, another server URL, token or lease generation, an install
// once boot script, which depends on the machine's state) is left to the
// render path.
func (s *Server) answered(w http.ResponseWriter, r *http.Request, kind int, ct []string) bool {
	f, err := s.facts(w, r)
	if err != nil {
		return false // the render path refuses it
	}
	info := infoFrom(w)
	if info == nil || info.query == nil {
		return false
	}
	e := info.query
	sv := s.snap.Load()
	if sv == nil || e.epoch != sv.epoch || e.err != nil {
		return false
	}
	a := e.answers[kind].Load()
	if a == nil || a.epoch != sv.epoch || a.url != f.ServerURL || a.gen != s.leaseGen(sv) {
		return false
	}
	if kind == answerIPXE || kind == answerGRUB {
		if e.installOnce {
			return false
		}
		if a.token != s.cfg.BootTokens.Issue(f.MAC.String()) {
			return false
		}
	}
	info.mac = string(f.MAC)
	info.group, info.profile = e.group, e.profile
	m := e.match
	if a.hit {
		if st := s.cfg.CacheStats; st != nil {
			st.Hits.Add(1)
		}
	}
	s.record(w, r, m, http.StatusOK, false)
	w.Header()["Content-Type"] = ct
	w.Write(a.body)
	return true
}

// keep stores body as the answer of kind to the request's query cache
// entry, when the request was matched from that entry (Server.match: the
// entry's match is of its epoch's snapshot, which rendered body), so that
// the next request of the same query can be answered with it (answered).
// gen is the lease generation read before the request's lease was looked
// up (Server.resolve), token the boot token rendered into it ("" for the
// configs).
func (s *Server) keep(w http.ResponseWriter, kind int, m *catalog.Match, gen uint64, token string, body []byte, hit bool) {
	info := infoFrom(w)
	if info == nil {
		return
	}
	e := info.query
	if e == nil || e.match != m || m == nil || len(body) > maxAnswer {
		return
	}
	if kind == answerIPXE || kind == answerGRUB {
		if installOnce(m) {
			return
		}
	}
	if s.queries.answerBytes.Add(int64(len(body))) > maxAnswerBytes {
		s.queries.clear()
		return
	}
	e.answers[kind].Store(&answer{epoch: e.epoch, url: info.facts.ServerURL, token: token, gen: gen, body: body, hit: hit})
}

// installOnce reports whether m's group or profile installs once: its
// boot script depends on the machine's inventory state.
func installOnce(m *catalog.Match) bool {
	return m.Group != nil && (m.Group.InstallOnce || (m.Profile != nil && m.Profile.InstallOnce))
}

// configAnswer is the answer kind of a config endpoint.
func configAnswer(kind profiles.Kind) int {
	switch kind {
	case profiles.KindIgnition:
		return answerIgnition
	case profiles.KindCloud:
		return answerCloud
	default:
		return answerGeneric
	}
}

// rawIgnition reports whether m's config of kind is a raw Ignition
// config, which catalog.Snapshot.Config serves as it is, not from its
// render cache (no hit counted).
func rawIgnition(kind profiles.Kind, m *catalog.Match) bool {
	if kind != profiles.KindIgnition {
		return false
	}
	name, err := catalog.TemplateName(m.Profile, kind)
	return err == nil && profiles.IsRawIgnition(name)
}

// wantsJSON reports whether a /metadata request asks for JSON.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// answers is the answers an entry keeps, by kind.
type answers [answerKinds]atomic.Pointer[answer]
