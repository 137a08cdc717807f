package console

import (
	"context"
	"fmt"
	"strings"

	"github.com/provisiond/provisiond/bmc"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/lifecycle"
)

// ServiceActions is the Lifecycle provisiond serves: the machine page's
// buttons over a *lifecycle.Service, the same service as the admin API's
// lifecycle routes and the CLI. Every action is recorded in the machine's
// timeline with the operator's identity as its reason.
type ServiceActions struct {
	// Service carries the actions out; required.
	Service *lifecycle.Service
	// Catalogs gives the registered machine (its name and BMC); required.
	Catalogs Catalogs
	// Inventory gives the machine's state, to offer only the actions
	// that change it; optional.
	Inventory Inventory
}

// The actions offered.
const (
	actionReprovision = "reprovision"
	actionInstalled   = "mark-installed"
	actionFailed      = "mark-failed"
	actionPowerCycle  = "power-cycle"
	actionPowerOn     = "power-on"
	actionPowerOff    = "power-off"
)

// Actions implements Lifecycle: reprovision always; mark installed and
// mark failed unless the machine is already so; power on, off and cycle
// for a registered machine with a BMC when power control is configured.
func (s *ServiceActions) Actions(key string) []Action {
	m := s.machine(key)
	state := inventory.State("")
	if s.Inventory != nil {
		if rec, ok := s.Inventory.Get(key); ok {
			state = rec.State
		}
	}
	acts := []Action{{Name: actionReprovision, Label: "Reprovision", Danger: true}}
	if state != inventory.Installed {
		acts = append(acts, Action{Name: actionInstalled, Label: "Mark installed"})
	}
	if state != inventory.Failed {
		acts = append(acts, Action{Name: actionFailed, Label: "Mark failed"})
	}
	if m.BMC != nil && s.Service.BMC != nil {
		acts = append(acts,
			Action{Name: actionPowerCycle, Label: "Power cycle", Danger: true},
			Action{Name: actionPowerOn, Label: "Power on"},
			Action{Name: actionPowerOff, Label: "Power off", Danger: true})
	}
	return acts
}

// Do implements Lifecycle.
func (s *ServiceActions) Do(ctx context.Context, key, action, who string) (string, error) {
	offered := false
	for _, a := range s.Actions(key) {
		offered = offered || a.Name == action
	}
	if !offered {
		return "", fmt.Errorf("%q is not an action offered for %s", action, key)
	}
	m := s.machine(key)
	reason := "console: " + who
	switch action {
	case actionReprovision:
		r, err := s.Service.Reprovision(ctx, m, reason)
		if err != nil {
			return "", err
		}
		if r.PowerCycled {
			return m.String() + " is marked reprovisioning; its BMC set the next boot to the network and cycled the power", nil
		}
		return m.String() + " is marked reprovisioning: " + r.Warning, nil
	case actionInstalled, actionFailed:
		st := inventory.Installed
		if action == actionFailed {
			st = inventory.Failed
		}
		rec, err := s.Service.SetState(ctx, m, st, reason)
		if err != nil {
			return "", err
		}
		return m.String() + " is now " + string(rec.State), nil
	default:
		op := bmc.Op(strings.TrimPrefix(action, "power-"))
		st, err := s.Service.Power(ctx, m, op)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s: power %s (the BMC says %s)", m, op, st), nil
	}
}

// machine is the machine with this inventory key as the service takes
// it: the registered one (name, BMC) when there is one.
func (s *ServiceActions) machine(key string) lifecycle.Machine {
	mac, uuid := key, ""
	if u, ok := strings.CutPrefix(key, "uuid:"); ok {
		mac, uuid = "", u
	}
	if snap := s.Catalogs.Current(); snap != nil {
		if reg := snap.Machine(mac, uuid); reg != nil {
			return lifecycle.Machine{Name: reg.Name, MAC: reg.MAC, UUID: reg.UUID, BMC: reg.BMC}
		}
	}
	return lifecycle.Machine{MAC: mac, UUID: uuid}
}

// TeeInventory returns a lifecycle.Inventory that applies to next, then
// publishes the event on the hub, so that the live views show the
// lifecycle's events (a machine's POST /installed or /failed, an
// operator's mark, a BMC operation) as they show boots. A nil hub
// returns next.
func (h *Hub) TeeInventory(next lifecycle.Inventory) lifecycle.Inventory {
	if h == nil {
		return next
	}
	return teeInventory{next: next, hub: h}
}

type teeInventory struct {
	next lifecycle.Inventory
	hub  *Hub
}

func (t teeInventory) Apply(mac, uuid string, e inventory.Event) (inventory.Machine, error) {
	m, err := t.next.Apply(mac, uuid, e)
	t.hub.Publish(Event{Time: e.Time, MAC: mac, UUID: uuid, Endpoint: e.Endpoint, Group: e.Group, Profile: e.Profile, Remote: e.Remote, Status: e.Status})
	return m, err
}

func (t teeInventory) Flush(ctx context.Context) error { return t.next.Flush(ctx) }
