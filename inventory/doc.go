// Package inventory records what every machine that asked did: first and
// last seen, the last endpoint, group and profile, a bounded list of recent
// boot events, and a state derived from them (discovered, booting,
// configured). The boot path only updates memory; a Recorder writes the
// changed machines to the store in batches, so recording never adds a
// storage round trip to a boot request.
package inventory
