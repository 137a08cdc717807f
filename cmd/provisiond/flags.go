package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// envName is the environment variable that sets a flag.
func envName(flagName string) string {
	return "PROVISIOND_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseWithEnv parses args into fs, then fills every flag not given on the
// command line from its PROVISIOND_* environment variable. Errors name the
// variable.
func parseWithEnv(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags only)", fs.Arg(0))
	}
	return fillFromEnv(fs, getenv)
}

// fillFromEnv sets every flag of fs not given on the command line from its
// PROVISIOND_* environment variable. Errors name the variable.
func fillFromEnv(fs *flag.FlagSet, getenv func(string) string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || set[f.Name] || !hasEnv(fs, f.Name) {
			return
		}
		v, ok := lookupEnv(envName(f.Name), getenv)
		if !ok {
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = fmt.Errorf("environment variable %s=%q: %v", envName(f.Name), v, e)
		}
	})
	return err
}

// clientEnvFlags are the only flags of the client verbs that environment
// variables set: where the server is and how to reach it. A stray
// PROVISIOND_PRUNE must never turn an apply into a deletion.
var clientEnvFlags = map[string]bool{"server": true, "token-file": true, "ca-file": true, "cert-file": true, "key-file": true, "timeout": true}

// hasEnv reports whether flag name of fs is set by an environment
// variable: every flag of serve, the connection flags of the client verbs.
func hasEnv(fs *flag.FlagSet, name string) bool {
	if fs.Name() == "serve" {
		return true
	}
	return clientEnvFlags[name]
}

func lookupEnv(name string, getenv func(string) string) (string, bool) {
	if getenv != nil {
		v := getenv(name)
		return v, v != ""
	}
	return os.LookupEnv(name)
}

// flagUsage prints a flag set's help with each flag's environment variable.
func flagUsage(fs *flag.FlagSet, intro string) func() {
	return func() {
		out := fs.Output()
		fmt.Fprint(out, intro)
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			dash := "--"
			if len(f.Name) == 1 {
				dash = "-"
			}
			fmt.Fprintf(out, "  %s%s", dash, f.Name)
			if name != "" {
				fmt.Fprintf(out, " %s", name)
			}
			fmt.Fprintf(out, "\n    \t%s", strings.ReplaceAll(usage, "\n", "\n    \t"))
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
				fmt.Fprintf(out, " (default %q)", f.DefValue)
			}
			if hasEnv(fs, f.Name) {
				fmt.Fprintf(out, "\n    \tenv %s", envName(f.Name))
			}
			fmt.Fprintln(out)
		})
	}
}
