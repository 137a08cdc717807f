package admin

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/resolve"
)

// preview resolves the query as the boot path does, in resolve's Preview
// mode: without recording a boot and without creating a lease. When the
// machine has no lease in its group's pool, the lease is the lowest
// address free in the lease table now, which is the one a boot would be
// given unless another machine takes it first.
func (a *API) preview(r *http.Request, opt resolve.Options) (resolve.Result, error) {
	f, err := resolve.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return resolve.Result{}, err
	}
	f.ServerURL = r.Header.Get("X-Provisiond-Server-URL")
	if f.ServerURL == "" {
		f.ServerURL = a.cfg.BootURL
	}
	opt.Preview = true
	return a.resolver.Resolve(r.Context(), a.cfg.Catalogs.Current(), f, opt)
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
func (a *API) selectMachine(w http.ResponseWriter, r *http.Request) {
	p, err := a.preview(r, resolve.Options{})
	if p.Match == nil {
		writeAPIError(w, r, err)
		return
	}
	// Any other error (no match, no mac, an exhausted pool) is what
	// select explains.
	m := p.Match
	res := SelectResult{Query: m.Query, Facts: m.Facts, Candidates: []Candidate{}}
	if m.Machine != nil {
		res.Machine = m.Machine.Name
	}
	if m.Group != nil && !errors.Is(err, catalog.ErrNoProfile) {
		res.Matched, res.Group, res.Profile = true, m.Group.ID, m.Group.Profile
		if p.Pool != nil {
			res.Pool = p.Pool.Name
			res.Lease = &SelectLease{State: p.LeaseState.String()}
			if p.Lease.Address.IsValid() {
				res.Lease.Address = p.Lease.Address.String()
			}
		}
	}
	var losers []Candidate
	for _, c := range p.Snapshot.Index.Explain(m.Facts) {
		cv := Candidate{Group: c.Group.ID, Profile: c.Group.Profile, Selector: c.Group.Selector.Map(), Matched: c.Matches, Missing: c.Missing}
		if cv.Selector == nil {
			cv.Selector = map[string]string{}
		}
		switch {
		case c.Group == m.Group && errors.Is(err, catalog.ErrNoProfile):
			cv.Reason = "matches, with the highest precedence, but its profile does not exist: the machine gets 404 (" + err.Error() + ")"
		case res.Matched && c.Group == m.Group:
			cv.Selected = true
			cv.Reason = fmt.Sprintf("selected: matches, with the highest precedence (%d selector keys)", len(c.Group.Selector))
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
