package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Verb is one `provisiond VERB`. cmd/provisiond registers each in its verb
// table, one line each.
type Verb struct {
	// Name is what the user types.
	Name string
	// Args is the synopsis after the name in the overview
	// ("KIND [NAME] [-o FORMAT]").
	Args string
	// Summary is the overview's one line about it.
	Summary string
	// Run runs the verb with the arguments after its name and returns the
	// exit status; Exit maps an error to one. `VERB --help` must print
	// the verb's own help (FlagUsage) and return 0.
	Run func(args []string, stdout, stderr io.Writer) int
}

// Program is the whole command line: the verbs, and the overview that
// `provisiond help` prints.
type Program struct {
	Verbs []Verb
	// Version overrides the build info's module version when set (with
	// -ldflags "-X main.version=...").
	Version string
}

const overviewHead = `provisiond: network-boot provisioning server (matchbox-compatible)

Usage:
`

const overviewTail = `
The client verbs talk to the admin API at --server (PROVISIOND_SERVER,
default http://127.0.0.1:8081) with the token in --token-file
(PROVISIOND_TOKEN_FILE); these connection flags go before or after the
verb. 'provisiond VERB --help' (or 'provisiond help VERB') lists a
verb's flags.

Every flag can also be set with an environment variable PROVISIOND_<FLAG>,
upper case with dashes as underscores (--data-dir: PROVISIOND_DATA_DIR).
A flag on the command line wins over the environment.

Exit status: 0 done, 1 refused or failed, 2 a usage mistake.
`

// builtins are the verbs Program answers itself.
var builtins = []Verb{
	{Name: "completion", Args: "bash|zsh", Summary: "print a shell completion script"},
	{Name: "version", Summary: "print the version and the VCS revision"},
	{Name: "help", Summary: "this text"},
}

func (p *Program) all() []Verb { return append(slices.Clone(p.Verbs), builtins...) }

// Overview is the text of `provisiond help`.
func (p *Program) Overview() string {
	var b strings.Builder
	b.WriteString(overviewHead)
	verbs := p.all()
	width := 0
	for _, v := range verbs {
		width = max(width, len(v.Name)+1+len(v.Args))
	}
	for _, v := range verbs {
		syn := strings.TrimSpace(v.Name + " " + v.Args)
		fmt.Fprintf(&b, "  provisiond %-*s  %s\n", width, syn, v.Summary)
	}
	b.WriteString(overviewTail)
	return b.String()
}

// Run runs the command line args (without the program name).
func (p *Program) Run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, p.Overview())
		return 2
	}
	args, err := hoistGlobals(args)
	if err != nil {
		return Exit(stderr, "", err)
	}
	if len(args) == 0 {
		return Exit(stderr, "", Usagef("connection flags given, but no verb (provisiond --help)"))
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "--help", "-help", "-h":
		if len(rest) == 1 && name == "help" { // provisiond help VERB
			for _, v := range p.Verbs {
				if v.Name == rest[0] {
					return v.Run([]string{"--help"}, stdout, stderr)
				}
			}
		}
		fmt.Fprint(stdout, p.Overview())
		return 0
	case "version", "--version", "-version":
		return Exit(stderr, "version", p.version(rest, stdout))
	case "completion":
		return Exit(stderr, "completion", p.completion(rest, stdout))
	}
	for _, v := range p.Verbs {
		if v.Name == name {
			return v.Run(rest, stdout, stderr)
		}
	}
	var names []string
	for _, v := range p.all() {
		names = append(names, v.Name)
	}
	msg := fmt.Sprintf("unknown command %q", name)
	if strings.HasPrefix(name, "-") {
		msg = fmt.Sprintf("unknown flag %s before the verb", name)
		names = nil
		for _, f := range globalFlags {
			names = append(names, "--"+f)
		}
	}
	if s := closest(strings.TrimLeft(name, "-"), names); s != "" {
		msg += fmt.Sprintf("; did you mean %s?", s)
	}
	return Exit(stderr, "", Usagef("%s (provisiond --help)", msg))
}

// globalFlags are the connection flags of the client verbs, which may
// also come before the verb (provisiond --server URL leases).
var globalFlags = []string{"server", "token-file", "ca-file", "cert-file", "key-file", "timeout"}

// hoistGlobals moves connection flags given before the verb to just
// after it, where the verb's own flag set parses them.
func hoistGlobals(args []string) ([]string, error) {
	var globals []string
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && len(args[0]) > 1 {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
		if !slices.Contains(globalFlags, name) {
			break // help, version, or an unknown flag: Run says which
		}
		if hasValue {
			globals, args = append(globals, args[0]), args[1:]
			continue
		}
		if len(args) < 2 {
			return nil, Usagef("flag needs an argument: --%s", name)
		}
		globals, args = append(globals, args[0], args[1]), args[2:]
	}
	if len(globals) == 0 || len(args) == 0 {
		return args, nil
	}
	return slices.Concat(args[:1], globals, args[1:]), nil
}

// closest returns the name of names nearest to s, when it is near enough
// to be a typo, or "".
func closest(s string, names []string) string {
	best, bestD := "", 1<<30
	for _, n := range names {
		d := distance(s, strings.TrimLeft(n, "-"))
		if strings.HasPrefix(strings.TrimLeft(n, "-"), s) && len(s) >= 2 {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = n, d
		}
	}
	if bestD <= max(2, len(s)/3) {
		return best
	}
	return ""
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
