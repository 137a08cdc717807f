package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/ipam"
)

// Lease states reported by /api/v1/select and the X-Provisiond-Lease
// header of /api/v1/render.
const (
	leaseNone      = "none"      // the group has no pool
	leaseExisting  = "existing"  // the machine holds an automatic lease
	leasePinned    = "pinned"    // the machine holds a pinned lease
	leasePreview   = "preview"   // no lease yet: the address it would get now
	leaseExhausted = "exhausted" // no lease, and the pool is full
	leaseNeedsMAC  = "needs-mac" // a pooled group matched a request without mac
)

// preview is what a request would get, worked out without recording a
// boot and without creating a lease.
type preview struct {
	snap       *catalog.Snapshot
	match      *catalog.Match
	matchErr   error // catalog.ErrNoMatch
	pool       *ipam.Pool
	leaseState string
	address    netip.Addr
	ip         map[string]any
}

// previewRequest resolves the query like the boot path does. When the
// machine has no lease in its group's pool, the lease is the lowest
// address free in the lease table now, which is the one a boot would be
// given unless another machine takes it first.
func (a *Admin) previewRequest(r *http.Request) (*preview, error) {
	snap := a.cfg.Catalogs.Current()
	if snap == nil {
		return nil, &apiError{Code: http.StatusServiceUnavailable, Msg: "catalog not loaded yet"}
	}
	labels, err := groups.FromQuery(r.URL.Query())
	if err != nil {
		return nil, err
	}
	p := &preview{snap: snap, leaseState: leaseNone}
	p.match, p.matchErr = snap.Resolve(labels)
	if p.matchErr != nil {
		return p, nil
	}
	p.pool = snap.Pool(p.match)
	if p.pool == nil {
		return p, nil
	}
	if p.match.MAC == "" {
		p.leaseState = leaseNeedsMAC
		return p, nil
	}
	if l, ok := a.cfg.Leases.Lookup(p.pool.Name, p.match.MAC); ok {
		p.leaseState, p.address = leaseExisting, l.Address
		if l.Pinned {
			p.leaseState = leasePinned
		}
	} else {
		taken := map[netip.Addr]bool{}
		for _, l := range a.cfg.Leases.All() {
			if l.Pool == p.pool.Name {
				taken[l.Address] = true
			}
		}
		addr, err := p.pool.FirstFree(func(a netip.Addr) bool { return taken[a] })
		if err != nil {
			p.leaseState = leaseExhausted
			return p, nil
		}
		p.leaseState, p.address = leasePreview, addr
	}
	p.ip = p.pool.Params(p.address).Map()
	return p, nil
}

// SelectResult explains which group, profile, pool and lease a machine
// would get, and why every other group lost.
type SelectResult struct {
	// Query is the request's own labels; Facts are what the group was
	// chosen with (the query overridden by the registered labels).
	Query   groups.Labels `json:"query"`
	Facts   groups.Labels `json:"facts"`
	Machine string        `json:"machine,omitempty"` // registered name
	Matched bool          `json:"matched"`
	Group   string        `json:"group,omitempty"`
	Profile string        `json:"profile,omitempty"`
	Pool    string        `json:"pool,omitempty"`
	Lease   *SelectLease  `json:"lease,omitempty"`
	// Candidates are the groups in precedence order: every matching one,
	// then non-matching ones up to maxCandidates in all.
	Candidates        []Candidate `json:"candidates"`
	CandidatesOmitted int         `json:"candidates_omitted,omitempty"`
}

// SelectLease is the lease part of a SelectResult.
type SelectLease struct {
	// State is existing, pinned, preview (no lease yet: the address it
	// would be given now), exhausted or needs-mac.
	State   string `json:"state"`
	Address string `json:"address,omitempty"`
}

// Candidate is one group's verdict.
type Candidate struct {
	Group    string            `json:"group"`
	Profile  string            `json:"profile"`
	Selector map[string]string `json:"selector"`
	Matched  bool              `json:"matched"`
	Selected bool              `json:"selected"`
	// Missing lists the selector pairs the facts do not satisfy.
	Missing []string `json:"missing,omitempty"`
	// Reason says in words why the group was or was not selected.
	Reason string `json:"reason"`
}

// maxCandidates bounds the candidates listed by select.
const maxCandidates = 200

// selectMachine answers GET /api/v1/select?mac=...&uuid=...&label=value.
func (a *Admin) selectMachine(w http.ResponseWriter, r *http.Request) {
	p, err := a.previewRequest(r)
	if err != nil {
		writeAPIError(w, r, err)
		return
	}
	m := p.match
	res := SelectResult{Query: m.Query, Facts: m.Facts, Candidates: []Candidate{}}
	if m.Machine != nil {
		res.Machine = m.Machine.Name
	}
	if p.matchErr == nil {
		res.Matched, res.Group, res.Profile = true, m.Group.ID, m.Group.Profile
		if p.pool != nil {
			res.Pool = p.pool.Name
			res.Lease = &SelectLease{State: p.leaseState}
			if p.address.IsValid() {
				res.Lease.Address = p.address.String()
			}
		}
	}
	var losers []Candidate
	for _, c := range p.snap.Index.Explain(m.Facts) {
		cv := Candidate{Group: c.Group.ID, Profile: c.Group.Profile, Selector: c.Group.Selector, Matched: c.Matches, Missing: c.Missing}
		if cv.Selector == nil {
			cv.Selector = map[string]string{}
		}
		switch {
		case res.Matched && c.Group == m.Group:
			cv.Selected = true
			cv.Reason = fmt.Sprintf("selected: matches, with the highest precedence (%d selector keys)", len(c.Group.Selector))
		case c.Group == m.Group && errors.Is(p.matchErr, catalog.ErrNoProfile):
			cv.Reason = "matches, with the highest precedence, but its profile does not exist: the machine gets 404 (" + p.matchErr.Error() + ")"
		case c.Matches:
			cv.Reason = "matches, but ranks below " + m.Group.ID + precedenceWhy(m.Group, c.Group)
		default:
			cv.Reason = fmt.Sprintf("does not match: %d of %d selector pairs missing", len(c.Missing), len(c.Group.Selector))
			losers = append(losers, cv)
			continue
		}
		res.Candidates = append(res.Candidates, cv)
	}
	for _, cv := range losers {
		if len(res.Candidates) >= maxCandidates {
			res.CandidatesOmitted++
			continue
		}
		res.Candidates = append(res.Candidates, cv)
	}
	writeJSON(w, http.StatusOK, res)
}

// precedenceWhy says why winner ranks above loser, in matchbox's terms.
func precedenceWhy(winner, loser *groups.Group) string {
	if len(winner.Selector) != len(loser.Selector) {
		return fmt.Sprintf(" (%d selector keys against %d: more selectors win)", len(winner.Selector), len(loser.Selector))
	}
	return fmt.Sprintf(" (both have %d selector keys; the greater sorted selector string wins: {%s} over {%s})", len(winner.Selector), winner.SelectorString(), loser.SelectorString())
}

// errNoMatch is what select and render say when no group matches.
func errNoMatch(p *preview) error {
	if errors.Is(p.matchErr, catalog.ErrNoMatch) {
		return &apiError{Code: http.StatusNotFound, Msg: "no group matches these facts (GET /api/v1/select explains why)", Err: p.matchErr}
	}
	return p.matchErr
}
