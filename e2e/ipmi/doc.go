// Package ipmi proves provisiond's BMC control against a real IPMI
// implementation: OpenIPMI's ipmi_sim, a BMC simulator speaking IPMI v2.0
// over LAN, attached to a QEMU virtual machine through QEMU's
// ipmi-bmc-extern device. The test drives it only through package bmc
// (power status, on, boot device network once, cycle, off) and asserts
// that the VM really starts and stops, and with which boot order; and
// through package lifecycle, which reprovisions an installed machine.
//
// TestLifecycleEndToEnd is issue 16's proof: the same VM, with a NIC,
// driven only through provisiond's CLI against a real provisiond serve,
// network-installs the e2e guest (which reports POST /installed), is
// answered the local-boot script after a power cycle, and is
// reprovisioned through the BMC. It needs go, and the e2e guest's build
// tools (see e2e/README.md: busybox-static, cpio, ipxe-qemu).
//
// The test is behind the e2e build tag and needs the Debian packages
// openipmi, ipmitool (for the operator's cross-check it prints) and
// qemu-system-x86:
//
//	go test -tags e2e -count=1 -v ./e2e/ipmi/
package ipmi
