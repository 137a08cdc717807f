package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
)

// EnvName is the environment variable that sets a flag.
func EnvName(flagName string) string {
	return "PROVISIOND_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// EnvPolicy says which flags of a flag set an environment variable sets.
type EnvPolicy func(flagName string) bool

// AllFromEnv: every flag (serve's).
func AllFromEnv(string) bool { return true }

// ConnectionFromEnv: only where the admin API is and how to reach it, the
// flags of the client verbs that variables set. A stray PROVISIOND_PRUNE
// must never turn an apply into a deletion.
func ConnectionFromEnv(name string) bool { return slices.Contains(globalFlags, name) }

// Parse parses args into fs, flags and positional arguments mixed
// (`get groups web -o json`), fills every flag not given on the command
// line from its PROVISIOND_* variable when env allows, and returns the
// positional arguments. A mistake is a *UsageError of one line naming the
// flag (and the closest valid one); --help prints fs.Usage and returns
// flag.ErrHelp. getenv nil reads the process environment.
func Parse(fs *flag.FlagSet, args []string, env EnvPolicy, getenv func(string) string) ([]string, error) {
	// The flag package prints its error and the whole help on every
	// mistake: here the help is printed on --help only, and the error
	// once, by the caller.
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	restore := func() { fs.Usage = usage; fs.SetOutput(out) }
	defer restore()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				restore()
				if usage != nil {
					usage()
				} else {
					fmt.Fprintf(out, "Usage of provisiond %s:\n", fs.Name())
					fs.PrintDefaults()
				}
				return nil, err
			}
			return nil, flagError(fs, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if err := fillFromEnv(fs, env, getenv); err != nil {
		return nil, Usagef("%v", err)
	}
	return pos, nil
}

// flagError turns the flag package's error into one line with a
// suggestion and a pointer to the verb's help.
func flagError(fs *flag.FlagSet, err error) error {
	help := fmt.Sprintf("(provisiond %s --help)", fs.Name())
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		name = strings.TrimLeft(name, "-")
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, dashed(f.Name)) })
		out := "unknown flag " + dashed(name)
		if fs.Lookup("o") != nil && len(name) >= 3 && closest(name, []string{"output"}) != "" {
			out += "; did you mean -o?"
		} else if s := closest(name, names); s != "" {
			out += "; did you mean " + s + "?"
		}
		return Usagef("%s %s", out, help)
	}
	// "invalid value "x" for flag -o: ...", "flag needs an argument: -o"
	msg = flagRef.ReplaceAllStringFunc(msg, func(m string) string {
		i := strings.LastIndex(m, "-")
		return m[:i] + dashed(m[i+1:])
	})
	return Usagef("%s %s", msg, help)
}

// flagRef is a flag named in the flag package's messages.
var flagRef = regexp.MustCompile(`(flag |argument: |for )-[A-Za-z0-9][A-Za-z0-9_-]*`)

func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

func fillFromEnv(fs *flag.FlagSet, env EnvPolicy, getenv func(string) string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || set[f.Name] || env == nil || !env(f.Name) {
			return
		}
		v, ok := lookupEnv(EnvName(f.Name), getenv)
		if !ok {
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = fmt.Errorf("environment variable %s=%q: %v", EnvName(f.Name), v, e)
		}
	})
	return err
}

func lookupEnv(name string, getenv func(string) string) (string, bool) {
	if getenv != nil {
		v := getenv(name)
		return v, v != ""
	}
	return os.LookupEnv(name)
}

// FlagUsage returns a flag set's help printer: intro, then each flag with
// its default and, where env allows, its environment variable.
func FlagUsage(fs *flag.FlagSet, intro string, env EnvPolicy) func() {
	return func() {
		out := fs.Output()
		fmt.Fprint(out, intro)
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(out, "  %s", dashed(f.Name))
			if name != "" {
				fmt.Fprintf(out, " %s", name)
			}
			fmt.Fprintf(out, "\n    \t%s", strings.ReplaceAll(usage, "\n", "\n    \t"))
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
				fmt.Fprintf(out, " (default %q)", f.DefValue)
			}
			if env != nil && env(f.Name) {
				fmt.Fprintf(out, "\n    \tenv %s", EnvName(f.Name))
			}
			fmt.Fprintln(out)
		})
	}
}

// Output is the -o flag: table, json or yaml, checked when parsed.
type Output string

// String implements flag.Value.
func (o *Output) String() string { return string(*o) }

// Set implements flag.Value.
func (o *Output) Set(v string) error {
	switch v {
	case "table", "json", "yaml":
		*o = Output(v)
		return nil
	}
	return fmt.Errorf("want table, json or yaml")
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
