package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/provisiond/provisiond/bmc"
	"github.com/provisiond/provisiond/console"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/lifecycle"
)

// lifecycleConfig is what `provisiond serve` is told about power control
// (docs/lifecycle.md).
type lifecycleConfig struct {
	BMCMaxSessions int
	BMCTimeout     time.Duration
}

func lifecycleFlags(fs *flag.FlagSet, c *lifecycleConfig) {
	fs.IntVar(&c.BMCMaxSessions, "bmc-max-sessions", 8, "most BMC sessions open at once (power and reprovision commands beyond it wait their turn)")
	fs.DurationVar(&c.BMCTimeout, "bmc-timeout", 30*time.Second, "time one BMC command may take, from the wait for a session to the logout (504 beyond)")
}

func checkLifecycle(c lifecycleConfig) error {
	if c.BMCMaxSessions <= 0 {
		return fmt.Errorf("--bmc-max-sessions %d: must be positive", c.BMCMaxSessions)
	}
	if c.BMCTimeout <= 0 {
		return fmt.Errorf("--bmc-timeout %s: must be positive", c.BMCTimeout)
	}
	return nil
}

// startLifecycle builds the machine lifecycle over the inventory: the BMC
// controller (bounded sessions, a timeout per command, passwords read from
// the registrations' password_file or password_env at each use) and the
// service the boot listener's reports and the admin API's commands call.
//
// hub (nil-safe) sees every report and operator action, so the console's
// live view shows them as they happen.
func (d *daemon) startLifecycle(rec *inventory.Recorder, hub *console.Hub) *lifecycle.Service {
	ctl := &bmc.Controller{MaxSessions: d.cfg.Lifecycle.BMCMaxSessions, Timeout: d.cfg.Lifecycle.BMCTimeout, Logger: d.log}
	return &lifecycle.Service{Inventory: hub.TeeInventory(rec), BMC: ctl, Logger: d.log}
}
