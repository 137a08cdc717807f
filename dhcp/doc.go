// Package dhcp answers the PXE part of DHCPv4 so that a machine's firmware
// finds iPXE and iPXE finds provisiond, without dnsmasq.
//
// By default the Server is a proxyDHCP server as in the PXE specification
// (version 2.1, section 2.2.5): beside the site's DHCP server it answers only
// PXE clients (vendor class "PXEClient", or "HTTPClient" for UEFI HTTP boot),
// never with an address, on port 67 (DHCPDISCOVER -> proxy DHCPOFFER) and on
// the PXE boot server port 4011 (DHCPREQUEST -> DHCPACK). The boot file
// depends on the client: firmware PXE gets an iPXE binary over TFTP chosen by
// its architecture (option 93), a UEFI HTTP boot client gets an http:// URL
// of the EFI binary, and iPXE itself (user class "iPXE", or option 175) gets
// the HTTP URL of /boot.ipxe, so there is no chainload loop.
//
// With Full set, the Server is also the network's DHCP server: it leases
// addresses from a provisiond pool (the same sticky lease the machine's
// templates see as .ip, through resolve's lease step, the boot path's
// own), for an isolated lab network only.
//
// Packets are parsed and built with github.com/insomniacslk/dhcp; the
// decisions (answer.go) are pure functions of the request and the Server's
// configuration.
package dhcp
