package inventory

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// State is where a machine stands in its life: observed from its requests
// (discovered, booting, configured), reported by the machine (installed,
// failed), or set by an operator (any of installed, failed, reprovisioning,
// discovered).
type State string

// The states.
const (
	// Discovered: the machine asked, and no group matched it (or an
	// operator reset it).
	Discovered State = "discovered"
	// Booting: the machine fetched its boot script (/ipxe or /grub).
	Booting State = "booting"
	// Configured: the machine fetched its Ignition, cloud-config or generic
	// config.
	Configured State = "configured"
	// Installed: the machine reported that its installer finished (POST
	// /installed), or an operator said so. A group or profile with
	// install_once answers an installed machine's /ipxe with a script that
	// boots its local disk.
	Installed State = "installed"
	// Reprovisioning: an operator asked for the machine to be installed
	// again. It stays so until it next fetches its boot script, which is
	// then the installer's again.
	Reprovisioning State = "reprovisioning"
	// Failed: the machine reported that its installer failed (POST
	// /failed), or an operator said so. The next boot script starts over.
	Failed State = "failed"
)

// States lists every state, in lifecycle order.
var States = []State{Discovered, Booting, Configured, Installed, Reprovisioning, Failed}

func (s State) String() string { return string(s) }

// Valid reports whether s is one of States.
func (s State) Valid() bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}

// ParseState returns the state named s (case-insensitive), or an error
// that lists the valid ones.
func ParseState(s string) (State, error) {
	st := State(strings.ToLower(strings.TrimSpace(s)))
	if !st.Valid() {
		return "", fmt.Errorf("state %q: want one of %s", s, joinStates(States))
	}
	return st, nil
}

func joinStates(ss []State) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return strings.Join(out, ", ")
}

// The endpoints a machine reports its installation through, and the
// endpoint of an operator's command.
const (
	// EndpointInstalled is the boot-side report of a finished install.
	EndpointInstalled = "/installed"
	// EndpointFailed is the boot-side report of a failed install.
	EndpointFailed = "/failed"
	// EndpointOperator marks an operator's command; its Event.State is
	// the state asked for.
	EndpointOperator = "operator"
	// EndpointBMC prefixes the events of BMC operations ("bmc:cycle"),
	// which never move the state.
	EndpointBMC = "bmc:"
)

// sighting reports whether e is a request from the machine itself.
func (e *Event) sighting() bool {
	return e.Endpoint != EndpointOperator && !strings.HasPrefix(e.Endpoint, EndpointBMC)
}

// OperatorStates are the states an operator may set. Booting and
// configured are only ever observed.
var OperatorStates = []State{Installed, Failed, Reprovisioning, Discovered}

// ErrTransition is returned (wrapped) for a change the machine's state
// does not allow; an HTTP transport answers it with 409.
var ErrTransition = errors.New("state change refused")

// ErrState is returned (wrapped) for a state an operator may not set; an
// HTTP transport answers it with 400.
var ErrState = errors.New("invalid state")

// Next is the lifecycle: the state a machine in state s moves to after
// event e, or an error wrapping ErrTransition or ErrState when e may not
// move it. s may be "" (a machine not seen before).
//
//   - a boot script (/ipxe, /grub) answered 200 starts an install: booting,
//     from any state, unless the answer booted the local disk (LocalBoot),
//     which leaves the state as it is;
//   - a config (/ignition, /cloud, /generic) answered 200: configured, from
//     discovered and booting; installed, reprovisioning and failed keep
//     their state (an installed OS fetching its config, as Typhoon's
//     os=installed does, is not a new install);
//   - a miss (404, no group) is discovered, for a machine only observed so
//     far; installed, reprovisioning and failed are kept;
//   - any other answer, /metadata, DHCP and TFTP keep the state;
//   - a report (/installed, /failed) answered 200 moves to installed or
//     failed, except during reprovisioning: the machine must boot the
//     installer first, and a report before that is a stale one (refused);
//   - an operator's command sets one of OperatorStates, from any state.
func Next(s State, e Event) (State, error) {
	if e.Endpoint == EndpointOperator {
		for _, ok := range OperatorStates {
			if e.State == ok {
				return e.State, nil
			}
		}
		return s, fmt.Errorf("%w %q: an operator may set %s", ErrState, e.State, joinStates(OperatorStates))
	}
	observed := s == "" || s == Discovered || s == Booting || s == Configured
	if s == "" {
		s = Discovered
	}
	if !strings.HasPrefix(e.Endpoint, "/") {
		// Not an HTTP boot endpoint: DHCP and TFTP ("dhcp:offer",
		// "tftp:ipxe.efi") say a machine is on the wire, never what it
		// was given; a TFTP miss (404) is not "matched no group".
		return s, nil
	}
	if e.Group == "" && e.Status == 404 && e.Endpoint != EndpointInstalled && e.Endpoint != EndpointFailed {
		if observed {
			return Discovered, nil
		}
		return s, nil
	}
	if e.Status >= 300 {
		return s, nil
	}
	switch e.Endpoint {
	case "/ipxe", "/grub":
		if e.LocalBoot {
			return s, nil
		}
		return Booting, nil
	case "/ignition", "/cloud", "/generic":
		if observed {
			return Configured, nil
		}
		return s, nil
	case EndpointInstalled, EndpointFailed:
		if s == Reprovisioning {
			return s, fmt.Errorf("%w: the machine is to be reprovisioned and has not booted the installer since", ErrTransition)
		}
		if e.Endpoint == EndpointInstalled {
			return Installed, nil
		}
		return Failed, nil
	}
	return s, nil
}

// BootDisk reports whether the machine's boot script should boot its local
// disk instead of its profile: its group or profile installs once and the
// machine is installed. The resolution of /ipxe (and /grub) calls it with
// group.InstallOnce || profile.InstallOnce.
func BootDisk(m Machine, installOnce bool) bool {
	return installOnce && m.State == Installed
}

// derive returns the state of a record written before states were stored:
// its events replayed, or, with none, its last endpoint.
func derive(m Machine) State {
	var s State
	for _, e := range m.Events {
		s, _ = Next(s, e)
	}
	if len(m.Events) == 0 && m.LastEndpoint != "" {
		s, _ = Next(s, Event{Endpoint: m.LastEndpoint, Group: m.Group, Status: 200})
	}
	if s == "" {
		s = Discovered
	}
	return s
}

// Overdue reports whether m has been booting, configured or
// reprovisioning for longer than after at now: a machine that never
// reported. It is a hint for the operator; nothing moves the state.
func Overdue(m Machine, now time.Time, after time.Duration) bool {
	switch m.State {
	case Booting, Configured, Reprovisioning:
	default:
		return false
	}
	since := m.LastSeen
	if n := len(m.Changes); n > 0 && m.Changes[n-1].Time.After(since) {
		since = m.Changes[n-1].Time
	}
	return !since.IsZero() && now.Sub(since) > after
}
