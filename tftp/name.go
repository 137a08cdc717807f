package tftp

import (
	"errors"
	"strings"

	"github.com/provisiond/provisiond/assets"
)

var errTooLong = errors.New("file name too long")

// maxNameLen bounds a requested name; nothing we serve is longer.
const maxNameLen = 255

// fileName turns a requested TFTP file name into a name relative to the
// root, with the same policy as /assets (assets.Name: one leading slash
// dropped, GRUB and some firmware send "/undionly.kpxe"; anything that
// would need cleaning, hidden names, backslashes and NUL refused). The
// os.Root open that follows is the confinement.
func fileName(requested string) (string, error) {
	if len(strings.TrimPrefix(requested, "/")) > maxNameLen {
		return "", errTooLong
	}
	return assets.Name(requested)
}
