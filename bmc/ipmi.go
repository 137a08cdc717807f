package bmc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/bougou/go-ipmi/pkg/client"
	"github.com/bougou/go-ipmi/pkg/command/chassis"
	"github.com/bougou/go-ipmi/pkg/types"
)

// ipmiCipherSuite is the RMCP+ cipher suite asked for: 3 (HMAC-SHA1,
// HMAC-SHA1-96, AES-CBC-128), ipmitool's default and every IPMI 2.0
// BMC's. Naming it skips the "Get Channel Cipher Suites" discovery, which
// some BMCs (OpenIPMI's ipmi_sim among them) do not answer, at the cost
// of a timeout per call.
const ipmiCipherSuite = types.CipherSuiteID3

// ipmiSession is a go-ipmi lanplus client, logged in.
type ipmiSession struct{ c *client.Client }

func dialIPMI(ctx context.Context, cfg Config, cred Credentials) (Session, error) {
	hp, _, err := cfg.hostPort()
	if err != nil {
		return nil, fmt.Errorf("%w: bmc.address: %v", ErrConfig, err)
	}
	host, p, _ := net.SplitHostPort(hp)
	port, err := strconv.Atoi(p)
	if err != nil {
		return nil, fmt.Errorf("%w: bmc.address port %q", ErrConfig, p)
	}
	c, err := client.NewClient(host, port, cred.Username, string(cred.Password))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	c.WithInterface(client.InterfaceLanplus).WithCipherSuiteID(ipmiCipherSuite)
	if err := c.Connect(ctx); err != nil {
		if refusedLogin(err) {
			return nil, fmt.Errorf("%w: the BMC refused the user name or password: %v", ErrCredentials, err)
		}
		return nil, fmt.Errorf("log in: %w", err)
	}
	return &ipmiSession{c: c}, nil
}

// refusedLogin reports whether a failed RMCP+ login was a refusal of the
// credentials: a RAKP authentication code that did not match (wrong
// password) or an RMCP+ status such as "unauthorized name". go-ipmi
// formats the errors of each cipher suite it tried into one message
// (%v), so the message is all there is to look at.
func refusedLogin(err error) bool {
	var rs *types.RmcpStatusError
	if errors.Is(err, client.ErrRAKPAuthentication) || errors.As(err, &rs) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, client.ErrRAKPAuthentication.Error()) || strings.Contains(msg, "RMCP+ status")
}

func (s *ipmiSession) PowerState(ctx context.Context) (PowerState, error) {
	st, err := s.c.GetChassisStatus(ctx)
	if err != nil {
		return "", fmt.Errorf("get chassis status: %w", err)
	}
	if st.PowerIsOn {
		return PowerOn, nil
	}
	return PowerOff, nil
}

func (s *ipmiSession) SetPower(ctx context.Context, on bool) error {
	ctl := chassis.ChassisControlPowerDown
	if on {
		ctl = chassis.ChassisControlPowerUp
	}
	if _, err := s.c.ChassisControl(ctx, ctl); err != nil {
		return fmt.Errorf("chassis control %v: %w", ctl, err)
	}
	return nil
}

func (s *ipmiSession) PowerCycle(ctx context.Context) error {
	if _, err := s.c.ChassisControl(ctx, chassis.ChassisControlPowerCycle); err != nil {
		return fmt.Errorf("chassis control power cycle: %w", err)
	}
	return nil
}

// SetBootDevice sets the boot flags (parameter 5) for a legacy (BIOS)
// boot, as ipmitool's "chassis bootdev" does by default; most BMCs apply
// the device to UEFI boots as well.
func (s *ipmiSession) SetBootDevice(ctx context.Context, dev BootDevice, persistent bool) error {
	sel := types.BootDeviceSelectorForceHardDrive
	if dev == Network {
		sel = types.BootDeviceSelectorForcePXE
	}
	if err := s.c.SetBootDevice(ctx, sel, types.BIOSBootTypeLegacy, persistent); err != nil {
		return fmt.Errorf("set boot device %s: %w", dev, err)
	}
	return nil
}

func (s *ipmiSession) Close(ctx context.Context) error { return s.c.Close(ctx) }
