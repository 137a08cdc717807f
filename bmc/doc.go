// Package bmc drives a machine's baseboard management controller: power
// on, off, cycle and status, and the next boot's device (network once, or
// disk), through IPMI v2.0 over LAN (github.com/bougou/go-ipmi) or
// Redfish (net/http against the DMTF schema).
//
// A Config names the BMC and where its password is (a file or an
// environment variable); the password is read at each use and carried in
// a Secret, which prints, logs and marshals as "[redacted]". A Controller
// runs each command within a timeout and at most MaxSessions at once.
// Errors wrap ErrUnreachable, ErrCredentials, ErrConfig or ErrBMC, so
// that a transport can answer each with its own status.
package bmc
