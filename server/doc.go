// Package server is provisiond's boot listener: the chi router with the
// matchbox-compatible boot endpoints (/boot.ipxe, /ipxe, /grub, /ignition,
// /cloud, /generic, /metadata), a machine's install reports (POST
// /installed, /failed: docs/lifecycle.md), /assets, /netboot, health and
// metrics, the boot tokens, and the middleware and limits around them.
// /ipxe and /grub answer an installed machine of an install_once group or
// profile with the local-boot script (Config.States).
//
// A boot handler parses the request's facts once (resolve.ParseQuery; the
// token check shares them), calls resolve.Resolver.Resolve once, renders
// the Result with its snapshot, and maps any error to a status in one
// place, toHTTP. Matching, leasing and rendering live below it, in
// packages resolve, catalog, groups, ipam and profiles. The admin API is
// package admin, on its own listener.
package server
