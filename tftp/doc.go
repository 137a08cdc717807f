// Package tftp serves the iPXE binaries that PXE firmware loads, read-only,
// over TFTP (RFC 1350, with the option extension, blksize and tsize of RFC
// 2347-2349, through github.com/pin/tftp). Files come from one root
// directory and are confined to it as /assets is: the name is checked
// (no "..", no hidden elements, no backslash or NUL) and opened through an
// os.Root, so a symlink cannot lead outside; only regular files are served.
// Write requests are refused.
package tftp
