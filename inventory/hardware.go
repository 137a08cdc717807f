package inventory

import "strings"

// Hardware is what a machine says of itself in its boot requests: iPXE's
// SMBIOS and build variables, sent as query parameters. /boot.ipxe's
// chain (matchbox's, byte for byte) sends serial and arch; the others
// arrive only when the operator's own chain script adds them
// (manufacturer=${manufacturer}&product=${product}&platform=${platform}).
// Values are as iPXE sent them; an empty one (an unset variable) never
// overwrites a known one.
type Hardware struct {
	Serial       string `json:"serial,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Product      string `json:"product,omitempty"`
	// Platform is iPXE's ${platform}: pcbios or efi.
	Platform string `json:"platform,omitempty"`
	// Arch is iPXE's ${buildarch}: i386, x86_64, arm64.
	Arch string `json:"arch,omitempty"`
}

// MaxHardwareValue bounds each value kept (longer ones are cut): the
// inventory is written four times a second, and a query is the client's.
const MaxHardwareValue = 64

// HardwareFrom returns the facts among a request's query parameters, get
// being a lookup such as url.Values.Get or a label map's index. The keys
// are the query's: serial, manufacturer, product, platform and arch.
func HardwareFrom(get func(key string) string) Hardware {
	return Hardware{
		Serial:       bound(get("serial")),
		Manufacturer: bound(get("manufacturer")),
		Product:      bound(get("product")),
		Platform:     bound(get("platform")),
		Arch:         bound(get("arch")),
	}
}

// IsZero reports whether h holds no fact.
func (h Hardware) IsZero() bool { return h == Hardware{} }

func bound(s string) string {
	if len(s) > MaxHardwareValue {
		s = s[:MaxHardwareValue]
	}
	return s
}

// merge keeps the non-empty values of n over those of h. A value is
// copied when it changes: n's come from a request's query, and a
// substring of it would keep the whole request line alive with the
// machine's record (at 100,000 machines, 25 MB).
func (h *Hardware) merge(n Hardware) {
	set := func(dst *string, v string) {
		if v != "" && v != *dst {
			*dst = own(v)
		}
	}
	set(&h.Serial, n.Serial)
	set(&h.Manufacturer, n.Manufacturer)
	set(&h.Product, n.Product)
	set(&h.Platform, n.Platform)
	set(&h.Arch, n.Arch)
}

// own returns s as the recorder keeps it: a copy of its own, or the
// constant of a value most machines send.
func own(s string) string {
	for _, c := range commonHardware {
		if s == c {
			return c
		}
	}
	return strings.Clone(s)
}

var commonHardware = [...]string{"x86_64", "i386", "arm64", "pcbios", "efi"}

// covers reports whether merging n into h would change nothing (h may be
// nil: no facts known).
func (h *Hardware) covers(n Hardware) bool {
	if n.IsZero() {
		return true
	}
	if h == nil {
		return false
	}
	same := func(have, v string) bool { return v == "" || v == have }
	return same(h.Serial, n.Serial) && same(h.Manufacturer, n.Manufacturer) && same(h.Product, n.Product) &&
		same(h.Platform, n.Platform) && same(h.Arch, n.Arch)
}
