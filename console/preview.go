package console

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/profiles"
	"github.com/provisiond/provisiond/resolve"
)

// ResolvePreviewer is the Previewer provisiond serves: the resolve
// package's Preview mode (no boot recorded, no lease created: a machine
// without a lease is shown the address it would be given now) and the
// snapshot's own rendering, the same two steps as the boot endpoints and
// the admin API's /api/v1/render.
//
// A machine's request carries labels besides its mac and uuid
// (role=worker), which the inventory does not keep. A machine is
// previewed with its mac and uuid (and its registered labels, which
// resolve adds); when that does not select the group it was last served,
// and that group's selector has other labels, it is previewed with those
// (the labels its request had at least), and the preview says so.
type ResolvePreviewer struct {
	// Catalogs gives the snapshot served; required.
	Catalogs Catalogs
	// Leases is the lease table (an *ipam.Table); required for pooled
	// groups.
	Leases resolve.LeaseTable
	// Inventory, when set, gives the group a machine was last served.
	Inventory Inventory
	// ServerURL is .server.url in the rendered templates: the boot
	// listener's URL.
	ServerURL string
	// IssueToken, when set, issues the boot token the /ipxe script
	// carries (server.BootTokens.Issue), as the boot endpoint would.
	IssueToken func(mac string) string
}

// Preview implements Previewer.
func (p *ResolvePreviewer) Preview(ctx context.Context, mac, uuid string) (*Preview, error) {
	base := url.Values{}
	if mac != "" {
		base.Set("mac", mac)
	}
	if uuid != "" {
		base.Set("uuid", uuid)
	}
	res, err := p.resolve(ctx, base)
	var note string
	if last, q, sel, ok := p.lastGroupLabels(mac, uuid, base); ok && (res.Match == nil || res.Match.Group == nil || res.Match.Group.ID != last) {
		if r2, err2 := p.resolve(ctx, q); r2.Match != nil && r2.Match.Group != nil {
			res, err = r2, err2
			note = "previewed with the labels of the group it was last served (" + sel + "): the inventory does not keep a request's labels"
		}
	}
	if res.Match == nil || res.Match.Group == nil {
		if err == nil {
			err = errors.New("no group matches")
		}
		return nil, fmt.Errorf("no group matches a request with this machine's mac and uuid (and its registered labels): %w", err)
	}
	out := &Preview{Group: res.Match.Group.ID, Profile: res.Match.Group.Profile, LeaseState: res.LeaseState.String()}
	if note != "" {
		out.Warnings = append(out.Warnings, note)
	}
	if res.Pool != nil {
		out.Pool = res.Pool.Name
	}
	if res.Lease.Address.IsValid() {
		out.Address = res.Lease.Address.String()
	}
	if err != nil {
		var pe *resolve.PoolError
		if errors.As(err, &pe) { // exhausted, or no mac: nothing to render
			out.Warnings = append(out.Warnings, err.Error())
			return out, nil
		}
		return nil, err
	}
	in := res.Input
	if p.IssueToken != nil && res.Facts.MAC != "" {
		in.BootToken = p.IssueToken(res.Facts.MAC.String())
	}
	script, err := res.Snapshot.BootScript(res.Match, in, catalog.LayoutIPXE)
	if err != nil {
		return nil, fmt.Errorf("rendering /ipxe: %w", err)
	}
	out.IPXE = string(script)
	for _, kind := range profiles.Kinds {
		if _, err := catalog.TemplateName(res.Match.Profile, kind); err != nil {
			continue
		}
		out.ConfigKind = string(kind)
		cfg, ws, err := res.Snapshot.Config(kind, res.Match, in)
		if err != nil {
			out.ConfigErr = err.Error()
		}
		out.Config = string(cfg)
		for _, w := range ws {
			out.Warnings = append(out.Warnings, string(w))
		}
		break
	}
	return out, nil
}

func (p *ResolvePreviewer) resolve(ctx context.Context, q url.Values) (resolve.Result, error) {
	raw := q.Encode()
	f, err := resolve.FromValues(q, raw)
	if err != nil {
		return resolve.Result{}, err
	}
	f.ServerURL = p.ServerURL
	r := resolve.Resolver{Leases: p.Leases}
	return r.Resolve(ctx, p.Catalogs.Current(), f, resolve.Options{Preview: true})
}

// lastGroupLabels returns the group the inventory says the machine was
// last served, the query of a request carrying that group's selector with
// the machine's own mac and uuid, and the selector as text.
func (p *ResolvePreviewer) lastGroupLabels(mac, uuid string, base url.Values) (group string, q url.Values, sel string, ok bool) {
	snap := p.Catalogs.Current()
	if p.Inventory == nil || snap == nil {
		return "", nil, "", false
	}
	rec, ok := p.Inventory.Get(inventory.Key(mac, uuid))
	if !ok || rec.Group == "" {
		return "", nil, "", false
	}
	g := snap.Catalog.Groups[rec.Group]
	if g == nil {
		return "", nil, "", false
	}
	q = url.Values{}
	var pairs []string
	for k, v := range g.Selector.All() {
		if k == "mac" || k == "uuid" {
			continue
		}
		q.Set(k, v)
		pairs = append(pairs, k+"="+v)
	}
	if len(pairs) == 0 {
		return "", nil, "", false
	}
	for k, v := range base {
		q[k] = v
	}
	sort.Strings(pairs)
	return g.ID, q, strings.Join(pairs, " "), true
}
