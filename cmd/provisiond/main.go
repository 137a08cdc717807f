// Command provisiond is a network-boot provisioning server: it answers
// iPXE and GRUB, serves kernels and initrds, renders Ignition, cloud-config
// and generic configs per machine, and gives machines static addresses that
// never move. See README.md.
//
// This package holds the flags, the wiring of `serve` and the verb table;
// the client verbs live in internal/cli, the server's pieces in their own
// packages.
package main

import (
	"io"
	"os"

	cmdline "github.com/provisiond/provisiond/internal/cli"
)

// version, when set at build time with -ldflags "-X main.version=...",
// replaces the module version of the build info in `provisiond version`.
var version = ""

// verbs are the program's commands, in the order the help lists them.
// Adding a verb is one line here: its name, its synopsis, one line of
// help, and a func(args []string, stdout, stderr io.Writer) int that
// answers --help with its own usage (cmdline.FlagUsage) and ends with
// cmdline.Exit(stderr, "NAME", err), the one error style.
// (completion, version and help are answered by cmdline.Program itself.)
var verbs = []cmdline.Verb{
	{Name: "serve", Args: "[flags]", Summary: "run the server (provisiond serve --help)", Run: serve},
	{Name: "apply", Args: "-f FILE|DIR", Summary: "create or replace catalog objects, in one transaction", Run: cmdline.Apply},
	{Name: "get", Args: "KIND [NAME] [-o FORMAT]", Summary: "profiles, groups, pools, machines, leases, templates, catalog", Run: cmdline.Get},
	{Name: "describe", Args: "machine NAME|MAC", Summary: "one machine: labels, group, profile, lease, state, events", Run: cmdline.Describe},
	{Name: "delete", Args: "KIND NAME", Summary: "delete an object, or release a lease (lease POOL/ADDRESS)", Run: cmdline.Delete},
	{Name: "machines", Args: "[--watch]", Summary: "the inventory: state, last seen, group, address", Run: cmdline.Machines},
	{Name: "power", Args: "on|off|cycle|status MACHINE", Summary: "power a machine through its BMC", Run: cmdline.Power},
	{Name: "reprovision", Args: "MACHINE [--reason TEXT]", Summary: "install a machine again: mark it, next boot network, power cycle", Run: cmdline.Reprovision},
	{Name: "state", Args: "MACHINE STATE [--reason TEXT]", Summary: "mark a machine installed, failed, reprovisioning or discovered", Run: cmdline.State},
	{Name: "leases", Args: "[--pool POOL]", Summary: "every lease", Run: cmdline.Leases},
	{Name: "select", Args: "--mac MAC [K=V ...]", Summary: "which group, profile and lease a machine gets, and why", Run: cmdline.Select},
	{Name: "render", Args: "ENDPOINT --mac MAC", Summary: "what ipxe, grub, ignition, cloud, generic or metadata answers", Run: cmdline.Render},
	{Name: "import-matchbox", Args: "DIR", Summary: "convert a matchbox data directory, reporting every change", Run: cmdline.ImportMatchbox},
	{Name: "export", Args: "DIR", Summary: "write the server's catalog as a catalog directory", Run: cmdline.Export},
	{Name: "db", Args: "check|backup", Summary: "check or back up the database (offline, or a running server's)", Run: cmdDB},
	{Name: "certs", Args: "init DIR --server-name NAME", Summary: "write a CA, server and client certificates for the gRPC API", Run: cmdCerts},
	{Name: "validate", Args: "DIR", Summary: "check a catalog directory offline, as serve would load it", Run: cmdValidate},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	p := &cmdline.Program{Verbs: verbs, Version: version}
	return p.Run(args, stdout, stderr)
}
