package catalog

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/provisiond/provisiond/ipam"
)

// Severity says whether a Problem refuses the catalog.
type Severity int

// The severities of a Problem.
const (
	SeverityError Severity = iota
	SeverityWarning
)

func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// Problem is one finding about a catalog directory, at a place in one of
// its files when it has one.
type Problem struct {
	Severity Severity
	// File is the file the problem is in, "" when it is about no one file.
	File string
	// Line and Col are the place in File, from 1; 0 when unknown.
	Line, Col int
	Message   string
}

// String is "FILE:LINE:COL: message", or "FILE: message" without a
// place, or the message alone without a file.
func (p Problem) String() string {
	switch {
	case p.File == "":
		return p.Message
	case p.Line > 0:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Message)
	default:
		return p.File + ": " + p.Message
	}
}

// ValidateDir loads, checks and trial-renders the catalog directory dir as
// serve does when it starts with --catalog dir and an empty data
// directory, without a server or a store, and reports what it finds:
// errors (the catalog would be refused) first, then warnings, among them
// every asset that a profile names under /assets/ and that assetsDir
// lacks (assetsDir "" means dir/assets, as serve defaults it). err is set
// only when dir cannot be read at all; a catalog with mistakes gives
// problems and a nil err.
func ValidateDir(dir, assetsDir string) (problems []Problem, err error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", dir)
	}
	if assetsDir == "" {
		assetsDir = filepath.Join(dir, "assets")
	}
	c, err := LoadDir(dir)
	if err != nil {
		return []Problem{problemOf(SeverityError, err)}, nil
	}
	_, warnings, err := Compile(c, ipam.NewTable(nil), Options{})
	if err != nil {
		problems = append(problems, problemsOf(err)...)
	}
	for _, w := range warnings {
		problems = append(problems, parseProblem(SeverityWarning, strings.TrimSpace(w)))
	}
	if len(c.Groups) == 0 {
		problems = append(problems, Problem{Severity: SeverityWarning, File: dir,
			Message: "no groups (groups/*.json): every machine would get 404; a catalog directory holds profiles/, groups/ and templates (see examples/)"})
	}
	return append(problems, MissingAssets(c, assetsDir)...), nil
}

// problemsOf splits err (a problemList when several mistakes were found)
// into Problems.
func problemsOf(err error) []Problem {
	var ps []Problem
	if l, ok := err.(problemList); ok {
		for _, e := range l {
			ps = append(ps, problemOf(SeverityError, e))
		}
		return ps
	}
	return []Problem{problemOf(SeverityError, err)}
}

func problemOf(sev Severity, err error) Problem {
	var se *SourceError
	if errors.As(err, &se) {
		p := Problem{Severity: sev, File: se.File, Line: se.Line, Col: se.Col}
		p.Message = strings.TrimPrefix(strings.TrimPrefix(se.Error(), p.String()), ": ")
		if p.Line == 0 {
			p.Message = strings.TrimPrefix(se.Error(), se.File+": ")
		}
		return p
	}
	return parseProblem(sev, err.Error())
}

// placed is "FILE:LINE:COL: message", as LoadDir, Validate and the trial
// renders write a place.
var placed = regexp.MustCompile(`^(\S[^:\n]*):(\d+):(\d+): (?s)(.*)$`)

var parseErr = regexp.MustCompile(`^(\S[^:\n]*): template: [^:\n]*:(\d+): (?s)(.*)$`)

// parseProblem reads the file and place that a catalog message starts
// with ("FILE:LINE:COL: ..." or "FILE: ..." or "FILE (for group g): ...").
func parseProblem(sev Severity, msg string) Problem {
	msg = strings.TrimPrefix(msg, ErrInvalid.Error()+": ")
	if m := placed.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[2])
		col, _ := strconv.Atoi(m[3])
		return Problem{Severity: sev, File: m[1], Line: line, Col: col, Message: m[4]}
	}
	// A template that does not parse: "FILE: template: NAME:LINE: msg".
	if m := parseErr.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[2])
		return Problem{Severity: sev, File: m[1], Line: line, Col: 1, Message: m[3]}
	}
	if i := strings.Index(msg, ": "); i > 0 {
		file := msg[:i]
		rest := ""
		if j := strings.Index(file, " ("); j > 0 {
			file, rest = file[:j], file[j+1:]+": "
		}
		if !strings.ContainsAny(file, " \n") && strings.ContainsRune(file, filepath.Separator) {
			if _, err := os.Stat(file); err == nil {
				return Problem{Severity: sev, File: file, Message: rest + msg[i+2:]}
			}
		}
	}
	return Problem{Severity: sev, Message: msg}
}

// assetRef finds a path under /assets/ in a boot field: the kernel, an
// initrd ("--name main /assets/x") or an argument that names a URL.
var assetRef = regexp.MustCompile(`/assets/[^\s"'{}$]+`)

// MissingAssets warns about every path under /assets/ that a profile's
// kernel, initrd or arguments name and that assetsDir does not hold, at
// its place in the profile's file. A boot field whose path is made by a
// template action is not checked. serve logs these at start: a machine
// would otherwise download "404 page not found" as its kernel.
func MissingAssets(c *Catalog, assetsDir string) []Problem {
	var problems []Problem
	haveDir := false
	if st, err := os.Stat(assetsDir); err == nil && st.IsDir() {
		haveDir = true
	}
	for _, id := range sortedKeys(c.Profiles) {
		p := c.Profiles[id]
		src := c.source("profiles/" + id)
		raw, _ := os.ReadFile(src)
		fields := []struct{ name, text string }{{"boot.kernel", p.Boot.Kernel}}
		for i, s := range p.Boot.Initrd {
			fields = append(fields, struct{ name, text string }{fmt.Sprintf("boot.initrd[%d]", i), s})
		}
		for i, s := range p.Boot.Args {
			fields = append(fields, struct{ name, text string }{fmt.Sprintf("boot.args[%d]", i), s})
		}
		for _, f := range fields {
			for _, ref := range assetRef.FindAllString(f.text, -1) {
				rel := strings.TrimPrefix(path.Clean(ref), "/assets/")
				if haveDir {
					if st, err := os.Stat(filepath.Join(assetsDir, filepath.FromSlash(rel))); err == nil && st.Mode().IsRegular() {
						continue
					}
				}
				pr := Problem{Severity: SeverityWarning, File: src}
				if i := strings.Index(string(raw), ref); i >= 0 {
					at := lineColOf(string(raw), i)
					pr.Line, pr.Col = at[0], at[1]
				}
				switch {
				case haveDir:
					pr.Message = fmt.Sprintf("%s names %s, which the assets directory %s lacks: machines booting this profile would get 404", f.name, ref, assetsDir)
				case assetsDir == "":
					pr.Message = fmt.Sprintf("%s names %s, but no assets directory is served (--assets-dir): machines booting this profile would get 404", f.name, ref)
				default:
					pr.Message = fmt.Sprintf("%s names %s, but there is no assets directory %s: machines booting this profile would get 404", f.name, ref, assetsDir)
				}
				if strings.Contains(ref, "flatcar") {
					pr.Message += " (examples/get-flatcar.sh fetches Flatcar's)"
				}
				problems = append(problems, pr)
			}
		}
	}
	return problems
}

func lineColOf(text string, off int) [2]int {
	line := 1 + strings.Count(text[:off], "\n")
	return [2]int{line, off - strings.LastIndexByte(text[:off], '\n')}
}
