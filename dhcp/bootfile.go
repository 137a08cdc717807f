package dhcp

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/insomniacslk/dhcp/iana"
)

// Arch is a client architecture family, the key of a BootFiles mapping.
type Arch string

// The architectures a boot file can be configured for.
const (
	BIOS  Arch = "bios"  // x86 legacy PXE (option 93 = 0)
	EFI32 Arch = "efi32" // x86 UEFI (6)
	EFI64 Arch = "efi64" // x86-64 UEFI (7, and 9: "EFI BC", which firmware sends for x86-64)
	ARM32 Arch = "arm32" // 32-bit ARM UEFI (10)
	ARM64 Arch = "arm64" // 64-bit ARM UEFI (11)
)

func (a Arch) String() string { return string(a) }

// archOf maps an option 93 value to its family and whether the client asks
// for UEFI HTTP boot (RFC 4578 and the IANA "Processor Architecture Types").
func archOf(code iana.Arch) (Arch, bool, bool) {
	switch code {
	case iana.INTEL_X86PC:
		return BIOS, false, true
	case iana.EFI_IA32:
		return EFI32, false, true
	case iana.EFI_X86_64, iana.EFI_BC:
		return EFI64, false, true
	case iana.EFI_ARM32:
		return ARM32, false, true
	case iana.EFI_ARM64:
		return ARM64, false, true
	case iana.EFI_X86_HTTP:
		return EFI32, true, true
	case iana.EFI_X86_64_HTTP, iana.EFI_BC_HTTP:
		return EFI64, true, true
	case iana.EFI_ARM32_HTTP:
		return ARM32, true, true
	case iana.EFI_ARM64_HTTP:
		return ARM64, true, true
	}
	return "", false, false
}

// BootFiles maps an architecture to the iPXE binary its firmware loads:
// a file name under the TFTP root (and, for UEFI HTTP boot, under the HTTP
// path the binaries are served at).
type BootFiles map[Arch]string

// DefaultBootFiles are the names Debian's ipxe package ships
// (/usr/lib/ipxe/undionly.kpxe, ipxe.efi) and the usual arm64 build.
func DefaultBootFiles() BootFiles {
	return BootFiles{BIOS: "undionly.kpxe", EFI64: "ipxe.efi", ARM64: "snp.efi"}
}

// ParseBootFiles parses "bios=undionly.kpxe,efi64=ipxe.efi,arm64=snp.efi".
// Architectures not named get no answer. A file name must be a plain
// relative path.
func ParseBootFiles(s string) (BootFiles, error) {
	b := BootFiles{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		if !ok || v == "" {
			return nil, fmt.Errorf("%q: want ARCH=FILE", item)
		}
		a := Arch(strings.ToLower(strings.TrimSpace(k)))
		switch a {
		case BIOS, EFI32, EFI64, ARM32, ARM64:
		default:
			return nil, fmt.Errorf("%q: unknown architecture %q (want bios, efi32, efi64, arm32 or arm64)", item, k)
		}
		if _, dup := b[a]; dup {
			return nil, fmt.Errorf("%q: %s given twice", item, a)
		}
		v = strings.TrimSpace(v)
		if strings.ContainsAny(v, " \\\x00") || strings.HasPrefix(v, "/") || strings.Contains(v, "..") {
			return nil, fmt.Errorf("%q: file %q must be a plain relative path", item, v)
		}
		b[a] = v
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%q: no ARCH=FILE pair", s)
	}
	return b, nil
}

// String returns the mapping in the form ParseBootFiles reads, sorted.
func (b BootFiles) String() string {
	var parts []string
	for _, a := range slices.Sorted(maps.Keys(b)) {
		parts = append(parts, string(a)+"="+b[a])
	}
	return strings.Join(parts, ",")
}
