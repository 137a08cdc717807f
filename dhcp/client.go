package dhcp

import (
	"bytes"
	"net"
	"strconv"
	"strings"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// optionIPXEEncap is option 175, the iPXE encapsulated options block that
// every iPXE build sends.
const optionIPXEEncap = 175

// client is what a request says about the machine that sent it.
type client struct {
	mac string // normalized (lower case, colons); "" unless Ethernet
	// pxe: the vendor class (option 60) starts with "PXEClient" or
	// "HTTPClient", or the client is iPXE.
	pxe bool
	// http: vendor class "HTTPClient", a UEFI HTTP boot client.
	http bool
	// ipxe: user class (option 77) "iPXE", or option 175 present.
	ipxe bool
	// arch and archOK: the architecture family from option 93 (or from
	// the vendor class "PXEClient:Arch:xxxxx" when 93 is missing).
	arch   Arch
	archOK bool
	code   int // the raw architecture type, -1 when none was sent
}

// classify reads the PXE-relevant options of a request.
func classify(m *dhcpv4.DHCPv4) client {
	c := client{code: -1}
	if m.HWType == iana.HWTypeEthernet && len(m.ClientHWAddr) == 6 {
		c.mac = net.HardwareAddr(m.ClientHWAddr).String()
	}
	vendor := m.ClassIdentifier()
	switch {
	case strings.HasPrefix(vendor, "PXEClient"):
		c.pxe = true
	case strings.HasPrefix(vendor, "HTTPClient"):
		c.pxe, c.http = true, true
	}
	if raw := m.Options.Get(dhcpv4.OptionUserClassInformation); raw != nil {
		// iPXE sends "iPXE" bare, not in RFC 3004's length-prefixed form;
		// accept both.
		if bytes.Contains(raw, []byte("iPXE")) {
			c.ipxe = true
		}
	}
	if m.Options.Has(dhcpv4.GenericOptionCode(optionIPXEEncap)) {
		c.ipxe = true
	}
	if c.ipxe {
		c.pxe = true
	}
	if archs := m.ClientArch(); len(archs) > 0 {
		c.code = int(archs[0])
	} else if _, rest, ok := strings.Cut(vendor, ":Arch:"); ok && len(rest) >= 5 {
		if n, err := strconv.Atoi(rest[:5]); err == nil {
			c.code = n
		}
	}
	switch {
	case c.code >= 0:
		a, httpArch, ok := archOf(iana.Arch(c.code))
		c.arch, c.archOK = a, ok
		if httpArch {
			c.http = true
		}
	case c.pxe && !c.http:
		// A PXE 2.1 client always sends option 93; one that does not is
		// an old x86 BIOS.
		c.arch, c.archOK = BIOS, true
	}
	return c
}
