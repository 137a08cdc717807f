package console

import (
	"context"
	"net/http"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
)

// Authenticator checks the admin credentials the console accepts, the
// same as the admin API's (the admin package's authenticator).
type Authenticator interface {
	// Authenticate returns the identity of a request its transport
	// authenticated (a TLS client certificate the listener verified,
	// "cert:<common name>"), or ok false. It never reads a token.
	Authenticate(r *http.Request) (identity string, ok bool)
	// CheckToken returns the identity of an admin token
	// ("token:<fingerprint>"), or ok false for a token not accepted. It
	// compares in constant time.
	CheckToken(token string) (identity string, ok bool)
}

// Catalogs gives the catalog being served (a *storage.Catalogs). Current
// returns nil before the first load.
type Catalogs interface {
	Current() *catalog.Snapshot
}

// Inventory is what the boot path recorded of each machine (an
// *inventory.Recorder). List returns copies sorted by key; Get returns a
// copy of one machine by inventory key (the mac, or "uuid:<uuid>") and
// false when it was never seen.
type Inventory interface {
	List() []inventory.Machine
	Get(key string) (inventory.Machine, bool)
}

// Leases is the lease table (an *ipam.Table). All returns every lease in
// no particular order.
type Leases interface {
	All() []ipam.Lease
}

// Previewer works out what a machine would be served now, the way the
// boot endpoints would, without recording a boot and without creating a
// lease (the resolve package's preview and render). It returns an error
// whose text the operator reads when no group matches or a render fails.
type Previewer interface {
	Preview(ctx context.Context, mac, uuid string) (*Preview, error)
}

// Preview is what a machine would be served.
type Preview struct {
	Group   string
	Profile string
	// Pool is the pool its group draws from, "" for none; LeaseState is
	// none, existing, pinned, preview (the address it would be given
	// now), exhausted or needs-mac; Address the lease's address, if any.
	Pool       string
	LeaseState string
	Address    string
	// IPXE is the exact /ipxe script.
	IPXE string
	// ConfigKind is "ignition", "cloud" or "generic" (the first the
	// profile names), "" when it names none; Config the exact body that
	// endpoint would answer, or ConfigErr why it would fail.
	ConfigKind string
	Config     string
	ConfigErr  string
	Warnings   []string
}

// Lifecycle acts on machines (reprovision, mark installed, ...). It is
// optional: without it, the machine page shows no actions.
type Lifecycle interface {
	// Actions lists what an operator may do to the machine with this
	// inventory key now; none is fine.
	Actions(key string) []Action
	// Do performs action on the machine, on behalf of who (the
	// operator's identity), and returns a sentence for the operator. An
	// action not offered by Actions is an error.
	Do(ctx context.Context, key, action, who string) (string, error)
}

// Action is one lifecycle action, drawn as a button.
type Action struct {
	// Name is what the form posts; Label the button's text.
	Name  string
	Label string
	// Danger marks destructive actions (drawn in red).
	Danger bool
}
