package assets

import (
	"errors"
	"io/fs"
	"path"
	"strings"
)

var (
	// errEmptyPath reports a request for the root directory itself.
	errEmptyPath = errors.New("empty path")
	// errBadChar reports a backslash or NUL byte: neither belongs in an
	// asset name, and a backslash is a separator on some systems.
	errBadChar = errors.New("backslash or NUL in path")
	// errInvalidPath reports a path that is not a plain relative slash path:
	// absolute, with empty, "." or ".." elements, or a trailing slash.
	errInvalidPath = errors.New("not a plain relative path")
	// errHidden reports a path with an element starting with '.'.
	errHidden = errors.New("hidden path element")
)

// Name turns a requested path (a decoded URL path such as
// "/flatcar/vmlinuz", or a TFTP file name) into a name relative to the root
// ("flatcar/vmlinuz"). One leading slash is dropped. It rejects rather than
// cleans: a request that would need cleaning is not one a boot client
// sends, so it is refused instead of reinterpreted. The os.Root open that
// follows is the actual confinement; this is the policy on top (no hidden
// files, no odd characters). The TFTP server uses the same policy.
func Name(urlPath string) (string, error) {
	return assetName(urlPath)
}

func assetName(urlPath string) (string, error) {
	name := strings.TrimPrefix(urlPath, "/")
	switch {
	case name == "":
		return "", errEmptyPath
	case strings.ContainsAny(name, "\\\x00"):
		return "", errBadChar
	case !fs.ValidPath(name):
		return "", errInvalidPath
	}
	for elem := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(elem, ".") {
			return "", errHidden
		}
	}
	return name, nil
}

// cleanPath returns the cleaned form of a request path, for logging.
func cleanPath(urlPath string) string {
	return path.Clean("/" + urlPath)
}
