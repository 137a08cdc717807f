package main

import (
	"flag"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReadmeFlagTable checks README's `provisiond serve` flag table
// against serve's flags: every flag is in the table, every flag in the
// table exists, and each default the table gives as a literal is the
// flag's default ("none" and "off": no default; any other words: a
// default computed at start, so none in the flag).
func TestReadmeFlagTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Running provisiond\n")
	if !ok {
		t.Fatal("README has no Running provisiond section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var cfg serveConfig
	fs := serveFlags(&cfg)
	flagName := regexp.MustCompile("`--([a-z0-9-]+)`")
	literals := regexp.MustCompile("^`[^`]*`(, `[^`]*`)*$")
	inTable := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `--") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) < 3 {
			t.Errorf("row without three cells: %s", line)
			continue
		}
		var names []string
		for _, m := range flagName.FindAllStringSubmatch(cells[0], -1) {
			names = append(names, m[1])
		}
		def := strings.TrimSpace(cells[1])
		var defs []string
		if literals.MatchString(def) {
			for _, d := range strings.Split(def, ", ") {
				defs = append(defs, strings.Trim(d, "`"))
			}
			if len(defs) != len(names) {
				defs = slices.Repeat([]string{defs[0]}, len(names))
			}
		}
		for i, name := range names {
			inTable[name] = true
			f := fs.Lookup(name)
			if f == nil {
				t.Errorf("README lists --%s, which serve does not have", name)
				continue
			}
			switch {
			case defs != nil:
				if !sameDefault(f, defs[i]) {
					t.Errorf("README gives --%s the default %q; serve --help says %q", name, defs[i], f.DefValue)
				}
			case def == "none" || def == "off":
				if f.DefValue != "" && f.DefValue != "false" {
					t.Errorf("README says --%s has no default; serve --help says %q", name, f.DefValue)
				}
			default: // computed at start
				if f.DefValue != "" {
					t.Errorf("README describes --%s's default as %q; serve --help says %q", name, def, f.DefValue)
				}
			}
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !inTable[f.Name] {
			t.Errorf("README's flag table lacks --%s (%s)", f.Name, strings.SplitN(f.Usage, "\n", 2)[0])
		}
	})
}

func sameDefault(f *flag.Flag, readme string) bool {
	if f.DefValue == readme {
		return true
	}
	a, errA := time.ParseDuration(f.DefValue)
	b, errB := time.ParseDuration(readme)
	return errA == nil && errB == nil && a == b
}
