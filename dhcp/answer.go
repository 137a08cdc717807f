package dhcp

import (
	"net"
	"strings"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// bootAnswer is the boot part of a reply.
type bootAnswer struct {
	file string // TFTP file name, or an http:// URL
	// tftp: file is on our TFTP server.
	tftp bool
	// vendor is the option 60 the reply carries:
	// "PXEClient", or "HTTPClient" which UEFI HTTP boot requires.
	vendor string
	// pxeOpts: add option 43 with PXE discovery control 8 ("download
	// the boot file named in this offer"), which legacy PXE ROMs want in
	// a proxyDHCP offer.
	pxeOpts bool
	// kind is the metric label: the architecture, "ipxe" or "http-<arch>".
	kind string
}

// Reasons a PXE request gets no boot answer (metric label values).
const (
	reasonNotPXE      = "not_pxe"
	reasonUnknownArch = "unknown_arch"
	reasonUnmapped    = "unmapped_arch"
)

// boot decides what a PXE client boots. It is a pure function of the
// client and the configuration; reason is set when there is no answer.
func (s *Server) boot(c client) (bootAnswer, string) {
	if !c.pxe {
		return bootAnswer{}, reasonNotPXE
	}
	base := strings.TrimRight(s.BootURL, "/")
	if c.ipxe {
		// Already iPXE: straight to provisiond's chain script, never the
		// iPXE binary again (that would loop).
		return bootAnswer{file: base + "/boot.ipxe", vendor: "PXEClient", pxeOpts: true, kind: "ipxe"}, ""
	}
	if !c.archOK {
		return bootAnswer{}, reasonUnknownArch
	}
	name, ok := s.bootFiles()[c.arch]
	if !ok {
		return bootAnswer{}, reasonUnmapped
	}
	if c.http {
		return bootAnswer{file: base + s.httpPath() + name, vendor: "HTTPClient", kind: "http-" + string(c.arch)}, ""
	}
	return bootAnswer{file: name, tftp: true, vendor: "PXEClient", pxeOpts: c.arch == BIOS, kind: string(c.arch)}, ""
}

// pxeVendorOptions is option 43 with PXE_DISCOVERY_CONTROL (sub-option 6)
// = 8: use the boot file of this offer, no boot server discovery.
var pxeVendorOptions = []byte{6, 1, 8, 255}

// withBoot adds the boot answer to a reply, in both modes: next-server
// and file name, option 60 (PXEClient, or HTTPClient which UEFI HTTP boot
// requires), and for legacy BIOS and iPXE option 43 with discovery
// control 8. A UEFI client gets no option 43: EDK2-based firmware then asks the boot
// server on port 4011, which it does reliably, while some ignore a reply
// that tries to skip discovery (pixiecore found the same).
func (s *Server) withBoot(req *dhcpv4.DHCPv4, a bootAnswer) dhcpv4.Modifier {
	return func(d *dhcpv4.DHCPv4) {
		// next-server and option 67 are set even for an http:// file:
		// iPXE takes a ProxyDHCPACK only when it has both (or a PXE
		// menu), and otherwise waits out its ProxyDHCP timeout (about
		// 14 s) before it boots.
		d.ServerIPAddr = net.IP(s.ServerIP.AsSlice())
		if len(a.file) < 128 {
			d.BootFileName = a.file
		}
		d.UpdateOption(dhcpv4.OptBootFileName(a.file))
		d.UpdateOption(dhcpv4.OptClassIdentifier(a.vendor))
		if a.pxeOpts {
			d.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionVendorSpecificInformation, pxeVendorOptions))
		}
		// Option 97, the client's machine identifier: PXE clients expect
		// it echoed.
		if uuid := req.Options.Get(dhcpv4.OptionClientMachineIdentifier); uuid != nil {
			d.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionClientMachineIdentifier, uuid))
		}
	}
}

// reply builds a reply of type mt to req, from this server.
func (s *Server) reply(req *dhcpv4.DHCPv4, mt dhcpv4.MessageType, mods ...dhcpv4.Modifier) (*dhcpv4.DHCPv4, error) {
	mods = append([]dhcpv4.Modifier{
		dhcpv4.WithMessageType(mt),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IP(s.ServerIP.AsSlice()))),
	}, mods...)
	return dhcpv4.NewReplyFromRequest(req, mods...)
}
