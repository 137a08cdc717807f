package bmc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"
)

// Op is a power operation.
type Op string

// The power operations.
const (
	On     Op = "on"
	Off    Op = "off"
	Cycle  Op = "cycle"
	Status Op = "status"
)

// Ops lists the power operations.
var Ops = []Op{On, Off, Cycle, Status}

func (o Op) String() string { return string(o) }

// ParseOp returns the operation named s, or an error listing them.
func ParseOp(s string) (Op, error) {
	for _, o := range Ops {
		if strings.EqualFold(s, string(o)) {
			return o, nil
		}
	}
	return "", fmt.Errorf("power operation %q: want on, off, cycle or status", s)
}

// PowerState is what a BMC says of the machine's power.
type PowerState string

// The power states.
const (
	PowerOn  PowerState = "on"
	PowerOff PowerState = "off"
)

// BootDevice is a boot-device override.
type BootDevice string

// The boot devices.
const (
	Network BootDevice = "network"
	Disk    BootDevice = "disk"
)

// ParseBootDevice returns the device named s, or an error listing them.
func ParseBootDevice(s string) (BootDevice, error) {
	switch BootDevice(strings.ToLower(s)) {
	case Network, "pxe":
		return Network, nil
	case Disk:
		return Disk, nil
	}
	return "", fmt.Errorf("boot device %q: want network or disk", s)
}

// Session is one logged-in connection to a BMC. Its methods are called
// one at a time.
type Session interface {
	// PowerState reads the machine's power.
	PowerState(ctx context.Context) (PowerState, error)
	// SetPower turns the machine on or off (hard, as a power button held).
	SetPower(ctx context.Context, on bool) error
	// PowerCycle turns a running machine off and on again.
	PowerCycle(ctx context.Context) error
	// SetBootDevice overrides the next boot's device, for that boot only
	// unless persistent.
	SetBootDevice(ctx context.Context, dev BootDevice, persistent bool) error
	// Close logs out.
	Close(ctx context.Context) error
}

// Dialer opens a session with a BMC.
type Dialer func(ctx context.Context, c Config, cred Credentials) (Session, error)

// Errors of BMC calls, returned wrapped; see also ErrConfig and
// ErrCredentials.
var (
	// ErrUnreachable: the BMC did not answer in time, or refused the
	// connection.
	ErrUnreachable = errors.New("bmc unreachable")
	// ErrBMC: the BMC answered with an error.
	ErrBMC = errors.New("bmc error")
)

// Controller runs power and boot-device commands against BMCs, each within
// a timeout, at most MaxSessions at once: cycling a rack queues behind the
// bound instead of opening a session per machine at the same moment.
type Controller struct {
	// MaxSessions bounds the BMC sessions open at once (default 8).
	MaxSessions int
	// Timeout bounds one command, from the wait for a session slot to the
	// logout (default 30s).
	Timeout time.Duration
	// Passwords reads credentials (default: the process's environment and
	// files).
	Passwords Source
	// Dialers opens sessions by type (default: IPMI and Redfish).
	Dialers map[Type]Dialer
	// Logger gets one line per command (default: none). Credentials are
	// never logged.
	Logger *slog.Logger

	once sync.Once
	sem  chan struct{}
}

func (c *Controller) init() {
	c.once.Do(func() {
		n := c.MaxSessions
		if n <= 0 {
			n = 8
		}
		c.sem = make(chan struct{}, n)
	})
}

// Do opens a session with the BMC and runs f in it, within the timeout
// and the bound on sessions. Errors are wrapped with ErrUnreachable,
// ErrCredentials, ErrConfig or ErrBMC (and the context's error when the
// wait for a slot was cut short).
func (c *Controller) Do(ctx context.Context, cfg Config, what string, f func(ctx context.Context, s Session) error) (err error) {
	c.init()
	if err := cfg.Validate(); err != nil {
		return err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	defer func() {
		if c.Logger != nil {
			c.Logger.Info("bmc", "bmc", cfg.String(), "op", what, "duration", time.Since(start).Round(time.Millisecond), "err", err)
		}
	}()
	select {
	case c.sem <- struct{}{}:
		defer func() { <-c.sem }()
	case <-ctx.Done():
		return fmt.Errorf("%s: %s: waiting for one of %d bmc sessions: %w", cfg, what, cap(c.sem), ctx.Err())
	}
	cred, err := c.Passwords.Credentials(cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", cfg, err)
	}
	dial := c.Dialers[cfg.Type]
	if dial == nil {
		dial = defaultDialers[cfg.Type]
	}
	if dial == nil {
		return fmt.Errorf("%w: bmc.type %q: no driver", ErrConfig, cfg.Type)
	}
	s, err := dial(ctx, cfg, cred)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", cfg, what, classify(ctx, err))
	}
	defer func() {
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = s.Close(cctx)
		ccancel()
	}()
	if err := f(ctx, s); err != nil {
		return fmt.Errorf("%s: %s: %w", cfg, what, classify(ctx, err))
	}
	return nil
}

var defaultDialers = map[Type]Dialer{IPMI: dialIPMI, Redfish: dialRedfish}

// classify wraps err with ErrUnreachable when it is a timeout or a
// refused connection, and with ErrBMC when it carries no class yet.
func classify(ctx context.Context, err error) error {
	if errors.Is(err, ErrUnreachable) || errors.Is(err, ErrCredentials) || errors.Is(err, ErrBMC) || errors.Is(err, ErrConfig) {
		return err
	}
	var ne net.Error
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%w (no answer in time): %w", ErrUnreachable, err)
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return fmt.Errorf("%w: %w", ErrBMC, err)
}

// Power runs op: on, off, cycle (on when the machine is off: most BMCs
// refuse to cycle a machine that is off), or status. It returns the power
// state the BMC reports for status, and the state asked for otherwise
// (the BMC may take a moment to get there).
func (c *Controller) Power(ctx context.Context, cfg Config, op Op) (PowerState, error) {
	var st PowerState
	err := c.Do(ctx, cfg, "power "+string(op), func(ctx context.Context, s Session) error {
		var err error
		switch op {
		case Status:
			st, err = s.PowerState(ctx)
		case On:
			st, err = PowerOn, s.SetPower(ctx, true)
		case Off:
			st, err = PowerOff, s.SetPower(ctx, false)
		case Cycle:
			st, err = PowerOn, cycle(ctx, s)
		default:
			return fmt.Errorf("%w: power operation %q", ErrConfig, op)
		}
		return err
	})
	return st, err
}

// cycle power-cycles a running machine, and turns on one that is off.
func cycle(ctx context.Context, s Session) error {
	now, err := s.PowerState(ctx)
	if err != nil {
		return err
	}
	if now == PowerOff {
		return s.SetPower(ctx, true)
	}
	return s.PowerCycle(ctx)
}

// SetBootDevice overrides the machine's next boot device (persistent:
// every boot until changed).
func (c *Controller) SetBootDevice(ctx context.Context, cfg Config, dev BootDevice, persistent bool) error {
	return c.Do(ctx, cfg, "bootdev "+string(dev), func(ctx context.Context, s Session) error {
		return s.SetBootDevice(ctx, dev, persistent)
	})
}

// NetbootAndCycle sets the next boot, once, to the network and cycles the
// power (turns it on when off), in one session: what reprovisioning asks
// of a machine's BMC.
func (c *Controller) NetbootAndCycle(ctx context.Context, cfg Config) error {
	return c.Do(ctx, cfg, "bootdev network once, power cycle", func(ctx context.Context, s Session) error {
		if err := s.SetBootDevice(ctx, Network, false); err != nil {
			return fmt.Errorf("boot device: %w", err)
		}
		if err := cycle(ctx, s); err != nil {
			return fmt.Errorf("power cycle: %w", err)
		}
		return nil
	})
}
