// Package catalogen generates large, realistic catalogs for benchmarks and
// for the bootstorm load generator: N machines, each with its own group
// selecting its mac (the shape matchbox users scale to), drawing a sticky
// address from its rack's pool, half of them booting a Butane template,
// four in ten raw Ignition and one in ten cloud-config; plus three
// registered etcd members whose Butane template calls members, and a pooled
// default group for machines the catalog does not know.
//
// The same index always gives the same machine, so a load generator and
// the catalog it was generated with agree on every mac, kind and endpoint
// without exchanging anything.
package catalogen

import (
	"fmt"
	"net/netip"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
)

// RackSize is the number of machines per rack; each rack has its own pool.
const RackSize = 1000

// Kind is what a generated machine fetches as its first-boot config.
type Kind int

// The kinds of generated machines.
const (
	Butane   Kind = iota // a Butane template translated to Ignition: /ignition
	Ignition             // raw Ignition served as it is: /ignition
	Cloud                // cloud-config: /cloud
)

func (k Kind) String() string {
	switch k {
	case Butane:
		return "butane"
	case Ignition:
		return "ignition"
	case Cloud:
		return "cloud"
	}
	return "unknown"
}

// KindOf returns machine i's kind: 5 in 10 Butane, 4 in 10 raw Ignition,
// 1 in 10 cloud-config.
func KindOf(i int) Kind {
	switch d := i % 10; {
	case d < 5:
		return Butane
	case d < 9:
		return Ignition
	}
	return Cloud
}

// ConfigPath is the endpoint machine i fetches its config from.
func ConfigPath(i int) string {
	if KindOf(i) == Cloud {
		return "/cloud"
	}
	return "/ignition"
}

// MAC returns machine i's mac (i < 2^32), in provisiond's normalized form.
func MAC(i int) string {
	return fmt.Sprintf("52:54:%02x:%02x:%02x:%02x", byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
}

// UnknownMAC returns the mac of the i-th machine that no group names.
func UnknownMAC(i int) string {
	return fmt.Sprintf("52:55:%02x:%02x:%02x:%02x", byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
}

// GroupID is the id of machine i's group.
func GroupID(i int) string { return fmt.Sprintf("m%06d", i) }

// Hostname is machine i's hostname, from its group's metadata.
func Hostname(i int) string { return fmt.Sprintf("node-%06d", i) }

// RackPool names the pool of machine i's rack.
func RackPool(i int) string { return fmt.Sprintf("rack-%03d", i/RackSize) }

// rackPool returns rack r's pool: a /22 per rack from 10.64.0.0 on, whose
// addresses .10 to .1022 of the block (1,013) cover a rack.
func rackPool(r int) *ipam.Pool {
	base := netip.AddrFrom4([4]byte{10, byte(64 + r/64), byte((r % 64) * 4), 0})
	add := func(a netip.Addr, n int) netip.Addr {
		for range n {
			a = a.Next()
		}
		return a
	}
	return &ipam.Pool{
		Name:    fmt.Sprintf("rack-%03d", r),
		CIDR:    base.String() + "/22",
		Start:   add(base, 10).String(),
		End:     add(base, 1022).String(),
		Gateway: add(base, 1).String(),
		DNS:     []string{add(base, 2).String(), "1.1.1.1"},
	}
}

// Size returns the number of objects New(n) makes, for logs.
func Size(n int) (groupsN, pools, machines int) {
	return n + 2, (n+RackSize-1)/RackSize + 2, 3
}

// New returns a catalog of n machines, ready for catalog.Compile. It costs
// well under a second for n = 100,000: objects are built directly, not
// decoded.
func New(n int) (*catalog.Catalog, error) {
	if n < 0 || n >= 1<<24 {
		return nil, fmt.Errorf("catalogen: %d machines, want 0 to %d", n, 1<<24-1)
	}
	c := catalog.New()
	boot := profiles.Boot{
		Kernel: "/assets/flatcar/vmlinuz",
		Initrd: []string{"/assets/flatcar/initrd.cpio.gz"},
		Args: []string{"initrd=initrd.cpio.gz", "flatcar.first_boot=yes", "console=ttyS0",
			"ignition.config.url={{ .server.url }}/ignition?mac=${mac:hexhyp}"},
	}
	cloudBoot := boot
	cloudBoot.Args = []string{"initrd=initrd.cpio.gz", "console=ttyS0",
		"cloud-config-url={{ .server.url }}/cloud?mac=${mac:hexhyp}"}
	for _, p := range []*profiles.Profile{
		{ID: "node-butane", Name: "Node (Butane)", Boot: boot, IgnitionID: "node.yaml"},
		{ID: "node-ignition", Name: "Node (raw Ignition)", Boot: boot, IgnitionID: "node.ign"},
		{ID: "node-cloud", Name: "Node (cloud-config)", Boot: cloudBoot, CloudID: "node.cloud"},
		{ID: "services", Name: "etcd member", Boot: boot, IgnitionID: "services.yaml"},
	} {
		c.Profiles[p.ID] = p
	}
	c.Templates[profiles.KindIgnition]["node.yaml"] = nodeButane
	c.Templates[profiles.KindIgnition]["node.ign"] = nodeIgnition
	c.Templates[profiles.KindIgnition]["services.yaml"] = servicesButane
	c.Templates[profiles.KindCloud]["node.cloud"] = nodeCloud

	pools := []*ipam.Pool{
		{Name: "services", CIDR: "10.0.0.0/24", Start: "10.0.0.101", End: "10.0.0.120", Gateway: "10.0.0.1", DNS: []string{"10.0.0.1"}},
		{Name: "discovered", CIDR: "10.1.0.0/16", Start: "10.1.0.10", End: "10.1.255.254", Gateway: "10.1.0.1", DNS: []string{"10.1.0.1"}},
	}
	for r := 0; r*RackSize < n; r++ {
		pools = append(pools, rackPool(r))
	}
	for _, p := range pools {
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("catalogen: %w", err)
		}
		c.Pools[p.Name] = p
	}

	profileOf := [...]string{Butane: "node-butane", Ignition: "node-ignition", Cloud: "node-cloud"}
	for i := range n {
		g := &groups.Group{
			ID:       GroupID(i),
			Profile:  profileOf[KindOf(i)],
			Selector: groups.Selector{{Key: "mac", Value: MAC(i)}},
			Metadata: groups.MetadataOf(map[string]any{
				"hostname":            Hostname(i),
				"rack":                fmt.Sprintf("r%03d", i/RackSize),
				"ssh_authorized_keys": []any{sshKey},
			}),
			Pool: RackPool(i),
		}
		c.Groups[g.ID] = g
	}
	c.Groups["services"] = &groups.Group{ID: "services", Name: "etcd members", Profile: "services", Pool: "services",
		Selector: groups.Selector{{Key: "role", Value: "services"}}, EtcdCluster: true,
		Metadata: groups.MetadataOf(map[string]any{"ssh_authorized_keys": []any{sshKey}})}
	c.Groups["discovered"] = &groups.Group{ID: "discovered", Name: "machines nobody registered", Profile: "node-ignition", Pool: "discovered"}
	for k := range 3 {
		m := &catalog.Machine{Name: fmt.Sprintf("etcd%d", k+1), MAC: fmt.Sprintf("52:54:ff:00:00:%02x", k+1),
			Labels: map[string]string{"role": "services"}}
		if err := m.Normalize(); err != nil {
			return nil, fmt.Errorf("catalogen: %w", err)
		}
		c.Machines[m.Name] = m
	}
	return c, nil
}

const sshKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGz0bM7wq4Vd1rL0aT2x3s5cYwqf8m1n2b3v4c5x6z7a ops@example.com"

// nodeButane is the per-machine Butane config: hostname, ssh key and a
// systemd-networkd unit with the machine's static address.
const nodeButane = `variant: flatcar
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
          MACAddress={{ .machine.mac }}
          [Network]
          Address={{ .ip.cidr }}
          Gateway={{ .ip.gateway }}
          DNS={{ join .ip.dns " " }}
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

// servicesButane is an etcd member whose --initial-cluster lists every
// registered member with its leased address.
const servicesButane = `variant: flatcar
version: 1.0.0
passwd:
  users:
    - name: core
      ssh_authorized_keys:
{{- range .ssh_authorized_keys }}
        - {{ . }}
{{- end }}
systemd:
  units:
    - name: etcd-member.service
      enabled: true
      dropins:
        - name: 40-etcd-cluster.conf
          contents: |
            [Service]
            Environment="ETCD_NAME={{ .machine.name }}"
            Environment="ETCD_ADVERTISE_CLIENT_URLS=http://{{ .ip.address }}:2379"
            Environment="ETCD_INITIAL_CLUSTER={{ range $i, $m := members "role=services" }}{{ if $i }},{{ end }}{{ $m.name }}=http://{{ $m.ip }}:2380{{ end }}"
`

const nodeIgnition = `{"ignition":{"version":"3.3.0"},"passwd":{"users":[{"name":"core","sshAuthorizedKeys":["` + sshKey + `"]}]},"systemd":{"units":[{"name":"locksmithd.service","mask":true}]}}
`

const nodeCloud = `#cloud-config
hostname: {{ .hostname }}
ssh_authorized_keys:
{{- range .ssh_authorized_keys }}
  - {{ . }}
{{- end }}
write_files:
  - path: /etc/systemd/network/10-static.network
    content: |
      [Match]
      MACAddress={{ .machine.mac }}
      [Network]
      Address={{ .ip.cidr }}
      Gateway={{ .ip.gateway }}
`
