package profiles

import (
	"bytes"
	"strings"
)

// ChainScript is the fixed body of /boot.ipxe and /boot.ipxe.0: it makes
// iPXE send what it knows of the machine to /ipxe. The URL is relative on
// purpose, so it resolves against whatever address iPXE used.
const ChainScript = "#!ipxe\n" +
	"chain ipxe?uuid=${uuid}&mac=${mac:hexhyp}&domain=${domain}&hostname=${hostname}&serial=${serial}&arch=${buildarch:uristring}\n"

// IPXEScript renders a boot section (already rendered as templates) as an
// iPXE script: one kernel line with its arguments, one initrd line per
// initrd, then boot. The layout is matchbox's.
func IPXEScript(b Boot) []byte {
	var buf bytes.Buffer
	buf.WriteString("#!ipxe\nkernel ")
	buf.WriteString(b.Kernel)
	for _, a := range b.Args {
		buf.WriteByte(' ')
		buf.WriteString(a)
	}
	buf.WriteByte('\n')
	for _, i := range b.Initrd {
		buf.WriteString("initrd ")
		buf.WriteString(i)
		buf.WriteByte('\n')
	}
	buf.WriteString("boot\n")
	return buf.Bytes()
}

// GRUBConfig renders a boot section as a GRUB2 config with an EFI and a
// BIOS menu entry, in matchbox's layout. iPXE-only initrd options
// ("--name NAME", "--mode 0644") are stripped: GRUB would read them as
// file names (matchbox passes them through).
func GRUBConfig(b Boot) []byte {
	var args strings.Builder
	for _, a := range b.Args {
		args.WriteByte(' ')
		args.WriteString(a)
	}
	var initrds strings.Builder
	for _, i := range b.Initrd {
		initrds.WriteString(` "`)
		initrds.WriteString(grubInitrdPath(i))
		initrds.WriteByte('"')
	}
	var buf bytes.Buffer
	buf.WriteString("default=0\nfallback=1\ntimeout=1\n")
	for _, e := range []struct{ title, linux, initrd string }{
		{"CoreOS (EFI)", "linuxefi", "initrdefi"},
		{"CoreOS (BIOS)", "linux", "initrd"},
	} {
		buf.WriteString(`menuentry "` + e.title + "\" {\n")
		buf.WriteString("echo \"Loading kernel\"\n")
		buf.WriteString(e.linux + ` "` + b.Kernel + `"` + args.String() + "\n")
		buf.WriteString("echo \"Loading initrd\"\n")
		buf.WriteString(e.initrd + " " + initrds.String() + "\n")
		buf.WriteString("}\n")
	}
	return buf.Bytes()
}

// grubInitrdPath drops iPXE's initrd options and keeps the URL or path: in
// "--name main.img /assets/initrd.img" that is the last word.
func grubInitrdPath(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	if !strings.HasPrefix(f[0], "-") {
		return strings.Join(f, " ")
	}
	return f[len(f)-1]
}
