package tftp

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

func TestNeighbour(t *testing.T) {
	p := filepath.Join(t.TempDir(), "arp")
	table := `IP address       HW type     Flags       HW address            Mask     Device
10.0.2.100       0x1         0x2         52:54:00:e2:e0:01     *        br0
10.0.2.101       0x1         0x0         00:00:00:00:00:00     *        br0
`
	if err := os.WriteFile(p, []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	old := arpTable
	arpTable = p
	t.Cleanup(func() { arpTable = old })
	for ip, want := range map[string]string{"10.0.2.100": "52:54:00:e2:e0:01", "10.0.2.101": "", "10.0.2.102": "", "::1": ""} {
		got, ok := neighbour(netip.MustParseAddr(ip))
		if got != want || ok != (want != "") {
			t.Errorf("neighbour(%s) = %q, %v; want %q", ip, got, ok, want)
		}
	}
}
