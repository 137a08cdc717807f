// Command provisiond is a network-boot provisioning server: it answers
// iPXE and GRUB, serves kernels and initrds, renders Ignition, cloud-config
// and generic configs per machine, and gives machines static addresses that
// never move. See README.md.
package main

import (
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `provisiond: network-boot provisioning server (matchbox-compatible)

Usage:
  provisiond serve [flags]                 run the server (provisiond serve --help)
  provisiond apply -f FILE|DIR             create or replace catalog objects, in one transaction
  provisiond get KIND [NAME] [-o FORMAT]   profiles, groups, pools, machines, leases, templates, catalog
  provisiond delete KIND NAME              delete an object, or release a lease (lease POOL/ADDRESS)
  provisiond machines                      the inventory: state, last seen, group, address
  provisiond leases [--pool POOL]          every lease
  provisiond select --mac MAC [K=V ...]    which group, profile and lease a machine gets, and why
  provisiond render ENDPOINT --mac MAC     what ipxe, grub, ignition, cloud, generic or metadata answers
  provisiond import-matchbox DIR           convert a matchbox data directory, reporting every change
  provisiond export DIR                    write the server's catalog as a catalog directory
  provisiond certs init DIR --server-name NAME   write the gRPC API's CA, server and client certificates
  provisiond version                       print the version
  provisiond help                          this text

The client verbs talk to the admin API at --server (PROVISIOND_SERVER,
default http://127.0.0.1:8081) with the token in --token-file
(PROVISIOND_TOKEN_FILE); 'provisiond VERB --help' lists their flags.

Every flag can also be set with an environment variable PROVISIOND_<FLAG>,
upper case with dashes as underscores (--data-dir: PROVISIOND_DATA_DIR).
A flag on the command line wins over the environment.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "apply":
		return cmdApply(args[1:], stdout, stderr)
	case "get":
		return cmdGet(args[1:], stdout, stderr)
	case "delete":
		return cmdDelete(args[1:], stdout, stderr)
	case "machines":
		return cmdMachines(args[1:], stdout, stderr)
	case "leases":
		return cmdLeases(args[1:], stdout, stderr)
	case "select":
		return cmdSelect(args[1:], stdout, stderr)
	case "render":
		return cmdRender(args[1:], stdout, stderr)
	case "import-matchbox":
		return cmdImport(args[1:], stdout, stderr)
	case "export":
		return cmdExport(args[1:], stdout, stderr)
	case "certs":
		return cmdCerts(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "provisiond %s\n", version)
		return 0
	case "help", "--help", "-help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "provisiond: unknown command %q\n\n%s", args[0], usage)
	return 2
}
