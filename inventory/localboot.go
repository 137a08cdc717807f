package inventory

// LocalBootIPXE is the /ipxe answer for an installed machine of an
// install-once group or profile: iPXE's exit hands control back to the
// firmware, which moves on to its next boot device, the disk.
//
// Why exit and not "sanboot --no-describe --drive 0x80": exit works the
// same on BIOS and UEFI firmware and leaves the choice of disk to the
// firmware's boot order, where the operator already put it. sanboot's
// drive 0x80 is a BIOS INT 13h number: under UEFI iPXE cannot boot a
// local drive that way at all, and under BIOS it boots the first disk even
// when the OS was installed on another. The cost of exit: the firmware's
// boot order must list the disk after the network (a machine whose only
// boot entry is its NIC would ask again, or stop at "no bootable device").
const LocalBootIPXE = "#!ipxe\n# installed: boot the local disk (the firmware's next boot device)\nexit\n"

// LocalBootGRUB is the /grub answer for the same machine: GRUB's exit also
// returns to the firmware's boot manager, which tries its next entry.
const LocalBootGRUB = "# installed: boot the local disk (the firmware's next boot entry)\nexit\n"
