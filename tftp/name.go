package tftp

import (
	"errors"
	"io/fs"
	"strings"
)

var (
	errEmptyName   = errors.New("empty file name")
	errBadChar     = errors.New("backslash or NUL in file name")
	errInvalidName = errors.New("not a plain relative path")
	errHidden      = errors.New("hidden path element")
)

// maxNameLen bounds a requested name; nothing we serve is longer.
const maxNameLen = 255

// fileName turns a requested TFTP file name into a name relative to the
// root. One leading slash is dropped (GRUB and some firmware send
// "/undionly.kpxe"); anything that would need cleaning is refused rather
// than reinterpreted, as assets does for URL paths. The os.Root open that
// follows is the confinement; this is the policy on top.
func fileName(requested string) (string, error) {
	name := strings.TrimPrefix(requested, "/")
	switch {
	case name == "":
		return "", errEmptyName
	case len(name) > maxNameLen, !fs.ValidPath(name):
		return "", errInvalidName
	case strings.ContainsAny(name, "\\\x00"):
		return "", errBadChar
	}
	for elem := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(elem, ".") {
			return "", errHidden
		}
	}
	return name, nil
}
