// Package server is provisiond's HTTP layer: the chi router with the
// matchbox-compatible boot endpoints, /assets, health and metrics, and the
// middleware around them. Handlers parse the request, ask the catalog
// snapshot and the lease store, and map the outcome to a status; matching
// and rendering live in packages groups, catalog and profiles.
package server
