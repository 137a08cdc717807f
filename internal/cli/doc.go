// Package cli is provisiond's command line: the verb dispatcher that
// cmd/provisiond hands its verb table to, the flag conventions every verb
// shares (PROVISIOND_* variables, flags before or after positional
// arguments, one-line errors with a suggestion), and the client verbs
// that talk to the admin API (apply, get, delete, machines, leases,
// describe, select, render, import-matchbox, export).
//
// Error style, for every verb: one line on stderr, "provisiond: VERB:
// message"; exit status 2 for a usage mistake (a *UsageError: unknown
// flag, bad value, missing argument), 1 for anything else. Exit writes
// that line and picks the status, so a verb returns an error and calls
// Exit once.
//
// The package is internal: it is the program's user interface, not a Go
// API, and only cmd/provisiond imports it.
package cli
