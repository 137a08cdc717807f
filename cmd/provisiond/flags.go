package main

import (
	"flag"

	cmdline "github.com/provisiond/provisiond/internal/cli"
)

// envName is the environment variable that sets a flag.
func envName(flagName string) string { return cmdline.EnvName(flagName) }

// parseWithEnv parses a flag set that takes flags only (serve's): every
// flag not given on the command line is filled from its PROVISIOND_*
// variable (getenv nil reads the environment). Errors are *cmdline.UsageError
// naming the flag or variable.
func parseWithEnv(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	pos, err := cmdline.Parse(fs, args, cmdline.AllFromEnv, getenv)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cmdline.Usagef("unexpected argument %q (flags only)", pos[0])
	}
	return nil
}

// flagUsage prints a flag set's help with each flag's environment variable.
func flagUsage(fs *flag.FlagSet, intro string) func() {
	return cmdline.FlagUsage(fs, intro, cmdline.AllFromEnv)
}
