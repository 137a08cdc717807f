// Package resolve turns a machine's facts into everything an answer needs:
// the matched group and profile, the machine's lease, and the template
// input. It is the one resolution path: the boot endpoints (server), admin
// select and render (admin), full DHCP mode (dhcp, lease only), and next
// the gRPC Select API and the web console all call it, so the same machine
// gets the same answer from every one of them. It knows nothing of HTTP or
// DHCP: a transport parses its request into Facts once, calls Resolve once,
// and maps the Result or the error to its own status.
//
// The steps, each in order and none going back to the caller:
//
//	facts  ParseQuery (or a transport's own parser) -> Facts{Labels, MAC}
//	match  catalog.Snapshot.Resolve: registered machine, labels, group
//	lease  the lease table, then the Allocator (or, with Preview, the
//	       address a new lease would get, allocating nothing)
//	input  catalog.Snapshot.Input: .machine, .ip, .request, .server
//
// Rendering is not a step of Resolve: a transport renders the Result's
// Input with the Result's Snapshot (BootScript, Config, MetadataEnv), as
// the answer it owes.
//
// # Calling it
//
//	f, err := resolve.ParseQuery(r.URL.RawQuery) // 400 on err
//	f.ServerURL = ...
//	res, err := resolver.Resolve(ctx, snap, f, resolve.Options{Preview: false})
//
// Result carries Snapshot, Match, Pool, Lease, LeaseState and Input.
// Errors are typed; every transport maps them with errors.Is/As:
// ErrNotReady (no snapshot yet), catalog.ErrNoMatch (Result.Match is still
// set, with the facts matched), catalog.ErrNeedMAC (a *PoolError that is
// also an invalid.FieldError for "mac"), ipam.ErrExhausted (a *PoolError
// in Preview, the Allocator's error otherwise), and the Allocator's own
// errors (storage.ErrUnavailable). With Preview, the lease problems are
// also reported as LeaseState (needs-mac, exhausted), which is what admin
// select shows instead of failing.
//
// # Checks that refuse or change the answer
//
// A check that may refuse or change the answer for a machine belongs
// before the lease, so that every transport gets it: a pool limited to
// registered machines refuses in the match step (catalog.Snapshot.Resolve
// returns catalog.ErrNotRegistered, also ErrNoMatch) before any address
// is allocated. Install once is in Resolve: with Options.BootScript (the
// /ipxe and /grub requests) and Resolver.States set, a machine whose
// group or profile has install_once and whose inventory state is
// installed resolves with Result.LocalBoot, before any lease is taken;
// the transport answers inventory.LocalBootIPXE or LocalBootGRUB, which
// depends on the state and so never enters the render cache. Options
// grows a field when a caller needs a different mode, as Preview does.
//
// # Boot tokens
//
// A boot token binds to the mac in the request's query (Facts.MAC), not
// to the registered machine the match finds. The token is checked before
// resolution, so a refused request resolves nothing and allocates no
// lease; and the facts a config is answered from are those of that same
// query, so a token cannot fetch the config of any other query's mac. A
// machine found by uuid without a mac in its query gets no token, and
// with boot tokens on cannot fetch a config (see SECURITY.md).
package resolve
