// Package e2e proves provisiond against real firmware: QEMU virtual machines
// whose real iPXE ROMs (SeaBIOS and OVMF/UEFI) network-boot from a running
// provisiond, download a kernel and initrd from its /assets, boot, and whose
// initrd (e2e/init) fetches its Ignition and metadata and shows the static
// address that provisiond leased to it.
//
// The test is behind the e2e build tag:
//
//	go test -tags e2e -count=1 -v ./e2e/
//
// See README.md in this directory for the packages it needs and its timings.
package e2e
