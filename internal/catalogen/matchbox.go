package catalogen

import (
	"fmt"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/profiles"
)

// Shape is the form of a generated catalog.
type Shape string

// The shapes New and NewMatchbox make.
const (
	// Pooled is New's shape: per-rack pools with sticky leases, four
	// kinds of machines, registered etcd members.
	Pooled Shape = "pooled"
	// Matchbox is NewMatchbox's shape: what a matchbox data directory
	// at scale looks like. One group file per machine selecting its mac,
	// with its own metadata (hostname, static address, ssh key); two
	// profiles, one Butane template and one raw Ignition; no pools.
	Matchbox Shape = "matchbox"
)

// ParseShape parses a --shape value.
func ParseShape(s string) (Shape, error) {
	switch Shape(s) {
	case Pooled, Matchbox:
		return Shape(s), nil
	}
	return "", fmt.Errorf("shape %q: want %s or %s", s, Pooled, Matchbox)
}

// Kind returns machine i's kind in catalogs of this shape: in the
// matchbox shape, every other machine boots the Butane template and the
// others the raw Ignition.
func (s Shape) Kind(i int) Kind {
	if s == Matchbox {
		return Kind(i % 2) // Butane, Ignition
	}
	return KindOf(i)
}

// ConfigPath is the endpoint machine i fetches its config from.
func (s Shape) ConfigPath(i int) string {
	if s.Kind(i) == Cloud {
		return "/cloud"
	}
	return "/ignition"
}

// StaticIP is machine i's address in the matchbox shape, from its
// group's metadata (10.128.0.0/9; unique for i < 2^23).
func StaticIP(i int) string {
	return fmt.Sprintf("10.%d.%d.%d", 128+byte(i>>16)&0x7f, byte(i>>8), byte(i))
}

// New returns a catalog of n machines of this shape.
func (s Shape) New(n int) (*catalog.Catalog, error) {
	if s == Matchbox {
		return NewMatchbox(n)
	}
	return New(n)
}

// NewMatchbox returns a matchbox-style catalog of n machines: one group
// per machine (selector mac; metadata hostname, ip_address, gateway,
// rack and ssh_authorized_keys), profiles "butane" and "ignition", the
// Butane template node.yaml and the raw Ignition node.ign.
func NewMatchbox(n int) (*catalog.Catalog, error) {
	if n < 0 || n >= 1<<23 {
		return nil, fmt.Errorf("catalogen: %d machines, want 0 to %d", n, 1<<23-1)
	}
	c := catalog.New()
	boot := profiles.Boot{
		Kernel: "/assets/flatcar/vmlinuz",
		Initrd: []string{"/assets/flatcar/initrd.cpio.gz"},
		Args: []string{"initrd=initrd.cpio.gz", "flatcar.first_boot=yes", "console=ttyS0",
			"ignition.config.url={{ .server.url }}/ignition?mac=${mac:hexhyp}"},
	}
	c.Profiles["butane"] = &profiles.Profile{ID: "butane", Name: "Flatcar (Butane)", Boot: boot, IgnitionID: "node.yaml"}
	c.Profiles["ignition"] = &profiles.Profile{ID: "ignition", Name: "Flatcar (raw Ignition)", Boot: boot, IgnitionID: "node.ign"}
	c.Templates[profiles.KindIgnition]["node.yaml"] = matchboxButane
	c.Templates[profiles.KindIgnition]["node.ign"] = nodeIgnition
	profileOf := [...]string{Butane: "butane", Ignition: "ignition"}
	for i := range n {
		ip := StaticIP(i)
		g := &groups.Group{
			ID:       GroupID(i),
			Name:     Hostname(i),
			Profile:  profileOf[Matchbox.Kind(i)],
			Selector: groups.Selector{{Key: "mac", Value: MAC(i)}},
			Metadata: groups.MetadataOf(map[string]any{
				"hostname":            Hostname(i),
				"ip_address":          ip,
				"cidr":                ip + "/9",
				"gateway":             "10.128.0.1",
				"rack":                fmt.Sprintf("r%03d", i/RackSize),
				"ssh_authorized_keys": []any{sshKey},
			}),
		}
		c.Groups[g.ID] = g
	}
	return c, nil
}

// matchboxButane is the Butane config of the matchbox shape: everything
// per machine comes from its group's metadata.
const matchboxButane = `variant: flatcar
version: 1.0.0
passwd:
  users:
    - name: core
      ssh_authorized_keys:
{{- range .ssh_authorized_keys }}
        - {{ . }}
{{- end }}
storage:
  files:
    - path: /etc/hostname
      mode: 0644
      contents:
        inline: {{ .hostname }}
    - path: /etc/systemd/network/10-static.network
      mode: 0644
      contents:
        inline: |
          [Match]
          MACAddress={{ .mac }}
          [Network]
          Address={{ .cidr }}
          Gateway={{ .gateway }}
systemd:
  units:
    - name: locksmithd.service
      mask: true
    - name: node-exporter.service
      enabled: true
      contents: |
        [Unit]
        Description=node exporter ({{ .rack }})
        [Service]
        ExecStart=/usr/bin/docker run --rm --net=host quay.io/prometheus/node-exporter
        [Install]
        WantedBy=multi-user.target
`
