package catalog

import (
	"errors"
	"fmt"
	"github.com/provisiond/provisiond/internal/invalid"
	"net/netip"
	"strings"

	"github.com/provisiond/provisiond/bmc"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/internal/strictjson"
)

// ErrInvalidMachine is returned (wrapped) for a registry entry that is not
// well formed.
var ErrInvalidMachine = errors.New("invalid machine")

// Machine is a registered machine (machines/<name>.json): its identity, the
// labels it is given (which override query labels of the same key) and the
// addresses pinned to it, by pool.
type Machine struct {
	Name   string            `json:"name"`
	MAC    string            `json:"mac,omitempty"`
	UUID   string            `json:"uuid,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	Leases map[string]string `json:"leases,omitempty"`
	// BMC is the machine's baseboard management controller, for power
	// control and reprovisioning; it names where its password is, never
	// the password.
	BMC *bmc.Config `json:"bmc,omitempty"`
}

// DecodeMachine parses and normalizes a registry entry.
func DecodeMachine(data []byte) (*Machine, error) {
	var m Machine
	if err := strictjson.Decode(data, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMachine, err)
	}
	if err := m.Normalize(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Normalize checks the entry and normalizes its mac, uuid, label keys and
// pinned addresses.
func (m *Machine) Normalize() error {
	if m.Name == "" {
		return invalid.Field("name", fmt.Errorf("%w: name is required", ErrInvalidMachine))
	}
	if m.MAC == "" && m.UUID == "" {
		return invalid.Field("mac", fmt.Errorf("%w %q: mac or uuid is required", ErrInvalidMachine, m.Name))
	}
	if m.MAC != "" {
		mac, err := groups.ParseMAC(m.MAC)
		if err != nil {
			return invalid.Field("mac", fmt.Errorf("%w %q: mac: %v", ErrInvalidMachine, m.Name, err))
		}
		m.MAC = mac
	}
	if m.UUID != "" {
		id, err := groups.ParseUUID(m.UUID)
		if err != nil {
			return invalid.Field("uuid", fmt.Errorf("%w %q: uuid: %v", ErrInvalidMachine, m.Name, err))
		}
		m.UUID = id
	}
	labels := make(map[string]string, len(m.Labels))
	for k, v := range m.Labels {
		key := strings.ToLower(k)
		if key == "mac" || key == "uuid" {
			return invalid.Field("labels", fmt.Errorf("%w %q: labels: %q is the machine's identity, set the %s field instead", ErrInvalidMachine, m.Name, key, key))
		}
		if _, dup := labels[key]; dup {
			return invalid.Field("labels", fmt.Errorf("%w %q: labels: key %q given twice (keys are case-insensitive)", ErrInvalidMachine, m.Name, key))
		}
		labels[key] = v
	}
	m.Labels = labels
	for pool, addr := range m.Leases {
		a, err := netip.ParseAddr(addr)
		if err != nil {
			return invalid.Field("leases."+pool, fmt.Errorf("%w %q: leases.%s: %v", ErrInvalidMachine, m.Name, pool, err))
		}
		m.Leases[pool] = a.String()
	}
	if len(m.Leases) > 0 && m.MAC == "" {
		return fmt.Errorf("%w %q: leases need the machine's mac: leases are keyed by mac", ErrInvalidMachine, m.Name)
	}
	if m.BMC != nil {
		if err := m.BMC.Validate(); err != nil {
			return fmt.Errorf("%w %q: %w", ErrInvalidMachine, m.Name, err)
		}
	}
	return nil
}

// Facts returns the labels a request from this machine is matched with:
// the query's labels, overridden by the registered labels, with the
// registered mac and uuid.
func (m *Machine) Facts(query groups.Labels) groups.Labels {
	f := make(groups.Labels, len(query)+len(m.Labels)+2)
	for k, v := range query {
		f[k] = v
	}
	for k, v := range m.Labels {
		f[k] = v
	}
	if m.MAC != "" {
		f["mac"] = m.MAC
	}
	if m.UUID != "" {
		f["uuid"] = m.UUID
	}
	return f
}
