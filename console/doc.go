// Package console is the operator's web console: server-rendered pages of
// machines, leases, pools, groups and profiles, and the boot events of the
// machines as they happen (server-sent events), mounted on the admin
// listener under /console/.
//
// It reads everything through small interfaces declared here (Catalogs,
// Inventory, Leases, Previewer, Lifecycle) and authenticates through
// Authenticator, so the admin package hands it the same credentials the
// REST API accepts. A browser logs in once with an admin token (or its
// TLS client certificate) and then holds a session cookie: a random
// server-side session id, never the token. Every form carries a
// synchronizer token tied to the session, and every unsafe request must
// come from the console's own origin.
//
// The boot path reaches the console through Hub.Publish (or Hub.Tee, which
// wraps the inventory recorder): a non-blocking, allocation-free fan-out
// that drops events for subscribers that read too slowly, so that a boot
// storm is never slowed by a browser watching it.
package console
