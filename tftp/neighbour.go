package tftp

import (
	"bufio"
	"net"
	"net/netip"
	"os"
	"strings"
)

// arpTable is the kernel's IPv4 neighbour table (Linux).
var arpTable = "/proc/net/arp"

// neighbour returns the MAC the kernel has for ip: a TFTP client has
// just talked to us, so it is there. ok is false elsewhere than Linux.
func neighbour(ip netip.Addr) (string, bool) {
	if !ip.Is4() {
		return "", false
	}
	f, err := os.Open(arpTable)
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// IP address  HW type  Flags  HW address  Mask  Device
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[0] != ip.String() {
			continue
		}
		hw, err := net.ParseMAC(fields[3])
		if err != nil || len(hw) != 6 || fields[3] == "00:00:00:00:00:00" {
			return "", false
		}
		return hw.String(), true
	}
	return "", false
}
