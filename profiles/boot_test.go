package profiles

import (
	"testing"

	"github.com/provisiond/provisiond/internal/golden"
)

func TestChainScript(t *testing.T) {
	// The exact body of COMPAT.md.
	want := "#!ipxe\nchain ipxe?uuid=${uuid}&mac=${mac:hexhyp}&domain=${domain}&hostname=${hostname}&serial=${serial}&arch=${buildarch:uristring}\n"
	if ChainScript != want {
		t.Fatalf("ChainScript = %q, want %q", ChainScript, want)
	}
}

var bootCases = []struct {
	name string
	boot Boot
}{
	{"flatcar", Boot{
		Kernel: "/assets/flatcar/vmlinuz",
		Initrd: []string{"/assets/flatcar/initrd.cpio.gz"},
		Args:   []string{"initrd=initrd.cpio.gz", "flatcar.first_boot=yes", "ignition.config.url=http://10.0.2.2:8080/ignition?uuid=${uuid}&mac=${mac:hexhyp}"},
	}},
	{"two-initrds-with-names", Boot{
		Kernel: "http://10.0.2.2:8080/assets/vmlinuz",
		Initrd: []string{"--name main http://10.0.2.2:8080/assets/a.img", "--name extra --mode 0644 /assets/b.img"},
		Args:   []string{"console=ttyS0"},
	}},
	{"kernel-only", Boot{Kernel: "/assets/vmlinuz"}},
}

func TestIPXEScript(t *testing.T) {
	for _, tc := range bootCases {
		t.Run(tc.name, func(t *testing.T) {
			golden.Assert(t, "testdata/ipxe/"+tc.name+".ipxe", IPXEScript(tc.boot))
		})
	}
}

func TestGRUBConfig(t *testing.T) {
	for _, tc := range bootCases {
		t.Run(tc.name, func(t *testing.T) {
			golden.Assert(t, "testdata/grub/"+tc.name+".cfg", GRUBConfig(tc.boot))
		})
	}
}

func TestGRUBStripsIPXEOptions(t *testing.T) {
	for in, want := range map[string]string{
		"/assets/a.img":                       "/assets/a.img",
		"--name main /assets/a.img":           "/assets/a.img",
		"--name x --mode 0644 http://h/a.img": "http://h/a.img",
		"":                                    "",
	} {
		if got := grubInitrdPath(in); got != want {
			t.Errorf("grubInitrdPath(%q) = %q, want %q", in, got, want)
		}
	}
}
