// Package server is provisiond's boot listener: the chi router with the
// matchbox-compatible boot endpoints (/boot.ipxe, /ipxe, /grub, /ignition,
// /cloud, /generic, /metadata), /assets, /netboot, health and metrics, the
// boot tokens, and the middleware and limits around them.
//
// A boot handler parses the request's facts once (resolve.ParseQuery; the
// token check shares them), calls resolve.Resolver.Resolve once, renders
// the Result with its snapshot, and maps any error to a status in one
// place, toHTTP. Matching, leasing and rendering live below it, in
// packages resolve, catalog, groups, ipam and profiles. The admin API is
// package admin, on its own listener.
package server
