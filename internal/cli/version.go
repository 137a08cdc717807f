package cli

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// version prints the program's version: the module version (or the one
// set with -ldflags), the VCS revision the binary was built from, and the
// Go version, all from the build info; what the build did not record is
// said to be unknown, not made up.
func (p *Program) version(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return Usagef("version takes no arguments")
	}
	bi, _ := debug.ReadBuildInfo()
	_, err := io.WriteString(stdout, versionText(p.Version, bi))
	return err
}

func versionText(override string, bi *debug.BuildInfo) string {
	var b strings.Builder
	if override == "dev" {
		override = "" // the Dockerfile's default says nothing the build info does not
	}
	v := override
	if bi == nil {
		if v == "" {
			v = "unknown"
		}
		fmt.Fprintf(&b, "provisiond %s\nrevision: unknown (no build information in this binary)\n", v)
		return b.String()
	}
	if v == "" {
		v = bi.Main.Version // "(devel)" for a build from a work tree
	}
	if v == "" {
		v = "unknown"
	}
	fmt.Fprintf(&b, "provisiond %s\n", v)
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	rev := settings["vcs.revision"]
	if rev == "" {
		b.WriteString("revision: unknown (built without VCS information: -buildvcs=false, or not from a checkout)\n")
	} else {
		if t := settings["vcs.time"]; t != "" {
			rev += " (" + t + ")"
		}
		if settings["vcs.modified"] == "true" {
			rev += ", with uncommitted changes"
		}
		fmt.Fprintf(&b, "revision: %s\n", rev)
	}
	fmt.Fprintf(&b, "module:   %s\ngo:       %s\n", bi.Main.Path, bi.GoVersion)
	return b.String()
}
