// Package inventory records what every machine that asked did: first and
// last seen, the last endpoint, group and profile, a bounded list of recent
// boot events, and its place in the lifecycle (state.go): discovered,
// booting and configured, observed from its requests; installed and failed,
// reported by the machine or set by an operator; reprovisioning, set by an
// operator until the machine next boots the installer. Every change of
// state is kept in the machine's timeline with its time and cause.
//
// The boot path only updates memory; a Recorder writes the changed
// machines to the store in batches, so recording never adds a storage
// round trip to a boot request.
package inventory
