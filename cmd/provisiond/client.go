package main

import (
	"flag"
	"io"
	"os"

	cmdline "github.com/provisiond/provisiond/internal/cli"
)

// The admin API client for verbs written in this package (db backup and
// the like), under the names these verbs used before the client moved to
// internal/cli. New verbs may call internal/cli directly.
type clientConfig = cmdline.ClientConfig

// clientFlags returns a flag set with the connection flags, and -o when
// output is true; its errors and help go to stderr.
func clientFlags(name string, cfg *clientConfig, output bool) *flag.FlagSet {
	return cmdline.ClientFlags(name, cfg, output, os.Stderr, "")
}

// parseClient parses flags and positional arguments mixed; see cmdline.Parse.
func parseClient(fs *flag.FlagSet, args []string) ([]string, error) {
	return cmdline.ParseClient(fs, args)
}

// newClient returns the admin API client cfg names.
func newClient(cfg clientConfig) (*cmdline.Client, error) { return cmdline.NewClient(cfg) }

// usagef returns a usage mistake (exit status 2).
func usagef(format string, args ...any) error { return cmdline.Usagef(format, args...) }

// runClient runs fn and maps its error to the exit status, printing it in
// the program's one error style.
func runClient(name string, stderr io.Writer, fn func() error) int {
	return cmdline.Exit(stderr, name, fn())
}
