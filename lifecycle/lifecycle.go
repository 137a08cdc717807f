// Package lifecycle is the transport-free service behind a machine's life
// in provisiond: a machine's report that it installed (or failed), an
// operator's mark, reprovisioning (mark, next boot from the network
// through the BMC, power cycle) and power control. The HTTP handlers and
// CLI verbs are thin shells over Service; see docs/lifecycle.md.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/provisiond/provisiond/bmc"
	"github.com/provisiond/provisiond/inventory"
)

// Inventory is what the service needs of the machine inventory; an
// *inventory.Recorder is one. Apply folds an event in and returns the
// record after it (or Next's error, the event being recorded all the
// same); Flush makes the changes durable.
type Inventory interface {
	Apply(mac, uuid string, e inventory.Event) (inventory.Machine, error)
	Flush(ctx context.Context) error
}

// Power is what the service needs of the BMCs; a *bmc.Controller is one.
type Power interface {
	Power(ctx context.Context, cfg bmc.Config, op bmc.Op) (bmc.PowerState, error)
	NetbootAndCycle(ctx context.Context, cfg bmc.Config) error
}

// Machine is the machine a command is about, as the transport found it:
// a registered machine's name, identity and BMC, or the mac or uuid of a
// machine that is only seen (it has no BMC).
type Machine struct {
	Name string
	MAC  string
	UUID string
	BMC  *bmc.Config
}

func (m Machine) String() string {
	if m.Name != "" {
		return m.Name
	}
	return inventory.Key(m.MAC, m.UUID)
}

// ErrNoBMC is returned (wrapped) for a power command on a machine that has
// no bmc in its registration.
var ErrNoBMC = errors.New("no bmc registered")

// Service carries out lifecycle commands. Its zero value is not usable:
// Inventory is required; BMC is needed for power and reprovisioning.
type Service struct {
	Inventory Inventory
	BMC       Power
	// Now defaults to time.Now; events are recorded in UTC.
	Now    func() time.Time
	Logger *slog.Logger
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Report records a machine's own report, from the boot side (POST
// /installed or /failed): st is inventory.Installed or inventory.Failed.
// The transport has checked the machine's boot token when tokens are on.
// A report from a machine that is to be reprovisioned and has not booted
// the installer since is refused (inventory.ErrTransition), and recorded
// as refused.
func (s *Service) Report(ctx context.Context, mac, uuid string, st inventory.State, remote string) (inventory.Machine, error) {
	ep := inventory.EndpointInstalled
	switch st {
	case inventory.Installed:
	case inventory.Failed:
		ep = inventory.EndpointFailed
	default:
		return inventory.Machine{}, fmt.Errorf("%w %q: a machine reports installed or failed", inventory.ErrState, st)
	}
	e := inventory.Event{Time: s.now(), Endpoint: ep, Remote: remote, Status: http.StatusOK}
	m, err := s.Inventory.Apply(mac, uuid, e)
	if err != nil && errors.Is(err, inventory.ErrTransition) {
		// Apply recorded it with its cause; the answer is 409.
		s.flush(ctx)
		return m, err
	}
	if err != nil {
		return m, err
	}
	s.flush(ctx)
	s.log("machine reported", "machine", inventory.Key(mac, uuid), "state", m.State)
	return m, nil
}

// SetState is an operator's mark (the admin API's POST
// /api/v1/machines/{name}/state, the CLI): any of
// inventory.OperatorStates, with an optional reason kept in the timeline.
func (s *Service) SetState(ctx context.Context, m Machine, st inventory.State, reason string) (inventory.Machine, error) {
	rec, err := s.Inventory.Apply(m.MAC, m.UUID, inventory.Event{Time: s.now(), Endpoint: inventory.EndpointOperator, Status: http.StatusOK, State: st, Cause: reason})
	if err != nil {
		return rec, fmt.Errorf("machine %s: %w", m, err)
	}
	s.flush(ctx)
	s.log("machine state set", "machine", m.String(), "state", st, "reason", reason)
	return rec, nil
}

// Reprovisioned is what Reprovision did.
type Reprovisioned struct {
	Machine inventory.Machine `json:"machine"`
	// PowerCycled: the BMC set the next boot to the network and cycled
	// the power (or turned it on).
	PowerCycled bool `json:"power_cycled"`
	// Warning says what the operator must still do, when there is no BMC.
	Warning string `json:"warning,omitempty"`
}

// Reprovision sends a machine through its installer again: it marks it
// reprovisioning (so that an install-once group answers the installer
// again), then, through its BMC, sets the next boot to the network, once,
// and cycles the power. Without a BMC it marks the machine and says that
// someone must power-cycle it. When the BMC fails, the mark stays (the
// machine reinstalls at its next network boot, whoever causes it) and the
// error says so.
func (s *Service) Reprovision(ctx context.Context, m Machine, reason string) (Reprovisioned, error) {
	rec, err := s.SetState(ctx, m, inventory.Reprovisioning, reason)
	if err != nil {
		return Reprovisioned{Machine: rec}, err
	}
	if m.BMC == nil {
		return Reprovisioned{Machine: rec, Warning: "no bmc registered: power-cycle the machine, booting from the network, to start the installer"}, nil
	}
	err = s.bmcOp(ctx, m, "reprovision", func(ctx context.Context) error { return s.BMC.NetbootAndCycle(ctx, *m.BMC) })
	if err != nil {
		return Reprovisioned{Machine: rec}, fmt.Errorf("machine %s is marked reprovisioning, but the power cycle failed: %w", m, err)
	}
	return Reprovisioned{Machine: rec, PowerCycled: true}, nil
}

// Power runs a power operation through the machine's BMC (the admin API's
// POST /api/v1/machines/{name}/power, `provisiond power`). on, off and
// cycle are recorded in the machine's events; status is not.
func (s *Service) Power(ctx context.Context, m Machine, op bmc.Op) (bmc.PowerState, error) {
	if m.BMC == nil {
		return "", fmt.Errorf("machine %s: %w: give its machines/ entry a bmc (ipmi or redfish: docs/lifecycle.md)", m, ErrNoBMC)
	}
	if s.BMC == nil {
		return "", fmt.Errorf("machine %s: %w: power control is not configured", m, ErrNoBMC)
	}
	var st bmc.PowerState
	run := func(ctx context.Context) error {
		var err error
		st, err = s.BMC.Power(ctx, *m.BMC, op)
		return err
	}
	if op == bmc.Status {
		if err := run(ctx); err != nil {
			return "", fmt.Errorf("machine %s: %w", m, err)
		}
		return st, nil
	}
	if err := s.bmcOp(ctx, m, string(op), run); err != nil {
		return "", fmt.Errorf("machine %s: %w", m, err)
	}
	return st, nil
}

// bmcOp runs f and records it as a "bmc:<what>" event: 200, or the status
// its error maps to with the error as cause (errors never carry the
// password).
func (s *Service) bmcOp(ctx context.Context, m Machine, what string, f func(context.Context) error) error {
	if s.BMC == nil {
		return fmt.Errorf("%w: power control is not configured", ErrNoBMC)
	}
	err := f(ctx)
	e := inventory.Event{Time: s.now(), Endpoint: inventory.EndpointBMC + what, Status: http.StatusOK}
	if err != nil {
		e.Status, e.Cause = Status(err), err.Error()
	}
	if m.MAC != "" || m.UUID != "" {
		_, _ = s.Inventory.Apply(m.MAC, m.UUID, e)
		s.flush(ctx)
	}
	s.log("bmc", "machine", m.String(), "op", what, "err", err)
	return err
}

func (s *Service) flush(ctx context.Context) {
	if err := s.Inventory.Flush(ctx); err != nil {
		// the recorder keeps the change and retries on its next flush
		s.log("inventory flush failed; the recorder will retry", "err", err)
	}
}

func (s *Service) log(msg string, args ...any) {
	if s.Logger != nil {
		s.Logger.Info(msg, args...)
	}
}

// Status maps the service's errors to HTTP statuses, for the transports:
// 400 a state that may not be set; 409 a change the machine's state
// refuses (a stale report) or a power command for a machine with no BMC;
// 422 a registration whose bmc is invalid; 502 a BMC that refused the
// credentials or the command; 504 a BMC that did not answer in time.
func Status(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, inventory.ErrState), errors.Is(err, inventory.ErrUnknown):
		return http.StatusBadRequest
	case errors.Is(err, inventory.ErrTransition), errors.Is(err, ErrNoBMC):
		return http.StatusConflict
	case errors.Is(err, bmc.ErrConfig):
		return http.StatusUnprocessableEntity
	case errors.Is(err, bmc.ErrUnreachable), errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, bmc.ErrCredentials), errors.Is(err, bmc.ErrBMC):
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}
