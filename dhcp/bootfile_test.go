package dhcp

import (
	"context"
	"net"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

func TestParseBootFiles(t *testing.T) {
	tests := []struct {
		in, want string // want "" = error
	}{
		{"bios=undionly.kpxe,efi64=ipxe.efi,arm64=snp.efi", "arm64=snp.efi,bios=undionly.kpxe,efi64=ipxe.efi"},
		{" BIOS = undionly.kpxe , efi64=x86_64/ipxe.efi ,", "bios=undionly.kpxe,efi64=x86_64/ipxe.efi"},
		{"efi32=i386.efi,arm32=arm32.efi", "arm32=arm32.efi,efi32=i386.efi"},
		{"", ""},
		{",", ""},
		{"bios", ""},
		{"bios=", ""},
		{"ppc=x.bin", ""},
		{"bios=a,bios=b", ""},
		{"bios=/abs", ""},
		{"bios=../up", ""},
		{"bios=a b", ""},
		{`bios=a\b`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			b, err := ParseBootFiles(tc.in)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("accepted: %v", b)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("%q, want %q", b.String(), tc.want)
			}
		})
	}
	if got := DefaultBootFiles().String(); got != "arm64=snp.efi,bios=undionly.kpxe,efi64=ipxe.efi" {
		t.Errorf("defaults %q", got)
	}
}

func FuzzParseBootFiles(f *testing.F) {
	for _, s := range []string{"bios=undionly.kpxe,efi64=ipxe.efi", "", "bios=a,bios=b", "x=y", "arm64=../snp.efi"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBootFiles(s)
		if err != nil {
			return
		}
		again, err := ParseBootFiles(b.String())
		if err != nil || again.String() != b.String() {
			t.Fatalf("%q -> %q does not parse back: %v", s, b.String(), err)
		}
	})
}

func TestClassify(t *testing.T) {
	msg := func(mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
		m, err := dhcpv4.NewDiscovery(net.HardwareAddr{0x52, 0x54, 0, 0xab, 0xcd, 0xef}, mods...)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		name           string
		m              *dhcpv4.DHCPv4
		pxe, http, ipx bool
		arch           Arch
	}{
		{"bios", msg(biosPXE...), true, false, false, BIOS},
		{"uefi", msg(uefiPXE...), true, false, false, EFI64},
		{"efi bc", msg(pxeClient("PXEClient:Arch:00009:UNDI:003000", iana.EFI_BC)...), true, false, false, EFI64},
		{"arm64", msg(arm64PXE...), true, false, false, ARM64},
		{"http", msg(uefiHTTP...), true, true, false, EFI64},
		{"ipxe", msg(ipxe...), true, false, true, BIOS},
		{"ipxe rfc3004 user class", msg(dhcpv4.WithUserClass("iPXE", true)), true, false, true, BIOS},
		{"arch from vendor class only", msg(dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00011:UNDI:003000"))), true, false, false, ARM64},
		{"old PXE without arch", msg(dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient"))), true, false, false, BIOS},
		{"not pxe", msg(notPXE...), false, false, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := classify(tc.m)
			if c.mac != "52:54:00:ab:cd:ef" || c.pxe != tc.pxe || c.http != tc.http || c.ipxe != tc.ipx || c.arch != tc.arch {
				t.Errorf("%+v", c)
			}
		})
	}
}

// FuzzHandle feeds arbitrary packets to the server's decision path, in
// both modes and on both ports: no panic, and an answer only to a request.
func FuzzHandle(f *testing.F) {
	for _, mods := range [][]dhcpv4.Modifier{biosPXE, uefiPXE, uefiHTTP, ipxe, notPXE} {
		m, _ := dhcpv4.NewDiscovery(net.HardwareAddr{0x52, 0x54, 0, 0, 0, 1}, mods...)
		f.Add(m.ToBytes())
	}
	proxy := &Server{ServerIP: testServerIP, BootURL: testBootURL}
	full := fullServer(f, &allocator{}, nil, nil)
	full.ServerIP, full.BootURL = testServerIP, testBootURL
	peer := &net.UDPAddr{IP: net.IPv4zero, Port: 68}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := dhcpv4.FromBytes(b)
		if err != nil {
			return
		}
		for _, s := range []*Server{proxy, full} {
			for _, port := range []bool{false, true} {
				resp, _ := s.handle(context.Background(), req, port, peer)
				if resp != nil && req.OpCode != dhcpv4.OpcodeBootRequest {
					t.Fatalf("answered a %s", req.OpCode)
				}
			}
		}
	})
}
