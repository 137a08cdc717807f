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
  provisiond serve [flags]     run the server (provisiond serve --help)
  provisiond version           print the version
  provisiond help              this text

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
