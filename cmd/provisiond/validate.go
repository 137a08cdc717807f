package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"os"

	"github.com/provisiond/provisiond/catalog"
)

const validateUsage = `Usage: provisiond validate DIR [--assets-dir DIR]

Loads, checks and trial-renders the catalog directory DIR exactly as
'provisiond serve --catalog DIR' does when it starts (with the default
render limits), with no server and no data directory. DIR and --assets-dir
default to PROVISIOND_CATALOG and PROVISIOND_ASSETS_DIR, as for serve. Prints each error as FILE:LINE:COL: message, then each
warning as FILE:LINE:COL: warning: message, among them the kernels and
initrds that profiles name under /assets/ and the assets directory lacks.

Exit status: 0 when the catalog is valid (warnings or not), 1 when serve
would refuse it or DIR is missing or unreadable, 2 for a usage mistake
(an unknown flag, no DIR or more than one).

Flags:
`

// cmdValidate implements `provisiond validate`.
func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // a mistake gets one line, --help the usage
	assetsDir := fs.String("assets-dir", "", "`directory` served under /assets/ (default: DIR/assets, as serve)")
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(stdout)
				flagUsage(fs, validateUsage)()
				return 0
			}
			fmt.Fprintf(stderr, "provisiond: validate: %v (see provisiond validate --help)\n", err)
			return 2
		}
		if rest = fs.Args(); len(rest) == 0 {
			break
		}
		pos, rest = append(pos, rest[0]), rest[1:]
	}
	if len(pos) == 0 && os.Getenv("PROVISIOND_CATALOG") != "" {
		pos = []string{os.Getenv("PROVISIOND_CATALOG")}
	}
	if *assetsDir == "" {
		*assetsDir = os.Getenv("PROVISIOND_ASSETS_DIR")
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "provisiond: validate: want one catalog directory, got %d arguments (see provisiond validate --help)\n", len(pos))
		return 2
	}
	problems, err := catalog.ValidateDir(pos[0], *assetsDir)
	if err != nil {
		var pe *iofs.PathError
		if errors.As(err, &pe) {
			err = fmt.Errorf("%s: %w", pe.Path, pe.Err)
		}
		// The directory is what validate checks, not how it was asked:
		// one that is missing or unreadable is a failure (1), like a
		// catalog that does not load, and no usage mistake (2).
		fmt.Fprintf(stderr, "provisiond: validate: %v\n", err)
		return 1
	}
	errs, warns := 0, 0
	for _, p := range problems {
		if p.Severity == catalog.SeverityError {
			fmt.Fprintln(stdout, p)
			errs++
		}
	}
	for _, p := range problems {
		if p.Severity == catalog.SeverityWarning {
			p.Message = "warning: " + p.Message
			fmt.Fprintln(stdout, p)
			warns++
		}
	}
	if errs > 0 {
		fmt.Fprintf(stderr, "provisiond: validate: %s is not valid: %s, %s\n", pos[0], plural(errs, "error"), plural(warns, "warning"))
		return 1
	}
	fmt.Fprintf(stdout, "%s is valid (%s)\n", pos[0], plural(warns, "warning"))
	return 0
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
