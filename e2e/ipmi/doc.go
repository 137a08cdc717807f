// Package ipmi proves provisiond's BMC control against a real IPMI
// implementation: OpenIPMI's ipmi_sim, a BMC simulator speaking IPMI v2.0
// over LAN, attached to a QEMU virtual machine through QEMU's
// ipmi-bmc-extern device. The test drives it only through package bmc
// (power status, on, boot device network once, cycle, off) and asserts
// that the VM really starts and stops, and with which boot order; and
// through package lifecycle, which reprovisions an installed machine.
//
// The test is behind the e2e build tag and needs the Debian packages
// openipmi, ipmitool (for the operator's cross-check it prints) and
// qemu-system-x86:
//
//	go test -tags e2e -count=1 -v ./e2e/ipmi/
package ipmi
