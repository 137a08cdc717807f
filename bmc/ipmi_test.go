package bmc

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	ipmibmc "github.com/bougou/go-ipmi/pkg/bmc"
	"github.com/bougou/go-ipmi/pkg/clock"
	"github.com/bougou/go-ipmi/pkg/hal"
	"github.com/bougou/go-ipmi/pkg/hal/mock"
	"github.com/bougou/go-ipmi/pkg/server"
	"github.com/bougou/go-ipmi/pkg/transport/udp"
	"github.com/bougou/go-ipmi/pkg/types"
)

// testChassis wraps go-ipmi's mock chassis to read it under a lock of its own
// (the mock's fields are written by the server's goroutine).
type testChassis struct {
	*mock.Chassis
	mu     sync.Mutex
	cycles int
}

func (c *testChassis) PowerCycle(ctx context.Context) error {
	c.mu.Lock()
	c.cycles++
	c.mu.Unlock()
	return c.Chassis.PowerCycle(ctx)
}

func (c *testChassis) Cycles() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cycles
}

func (c *testChassis) On() bool {
	on, _ := c.Chassis.PowerState(context.Background())
	return on
}

func (c *testChassis) Flags() types.BootOptionParam_BootFlags {
	f, err := c.Chassis.GetBootFlags(context.Background())
	if err != nil {
		return types.BootOptionParam_BootFlags{}
	}
	return *f
}

type halWith struct {
	*mock.HAL
	ch *testChassis
}

func (h halWith) Chassis() hal.ChassisHAL { return h.ch }

// startIPMI runs go-ipmi's reference BMC (RMCP+ over UDP on 127.0.0.1,
// a mock chassis behind it) with one administrator, and returns its
// address and chassis.
func startIPMI(t *testing.T, user, pass string) (string, *testChassis) {
	t.Helper()
	m := mock.New()
	h := halWith{HAL: m, ch: &testChassis{Chassis: m.Chassis().(*mock.Chassis)}}
	var guid [16]byte
	copy(guid[:], "provisiond-test!")
	b := ipmibmc.New(ipmibmc.DeviceInfo{DeviceID: 32, DeviceRevision: 1, FirmwareMajor: 1, IPMIVersion: 0x20, ManufacturerID: 0x000157, ProductID: 1}, guid, h, ipmibmc.WithClock(clock.Real))
	u, err := b.Users.Add(2, user)
	if err != nil {
		t.Fatal(err)
	}
	u.SetPassword([]byte(pass))
	u.Enabled = true
	u.ChannelAccess[1] = ipmibmc.UserChannelAccess{MaxPrivilege: ipmibmc.PrivilegeLevelAdministrator, Enabled: true}
	conn, err := udp.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.NewServer(b, conn)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		_ = srv.Close()
		<-done
	})
	return conn.LocalAddr().String(), h.ch
}

func envSource(vals map[string]string) Source {
	return Source{LookupEnv: func(k string) (string, bool) { v, ok := vals[k]; return v, ok }}
}

// TestIPMIAgainstReferenceBMC drives go-ipmi's reference BMC through the
// Controller, over real UDP: every operation reaches the chassis.
func TestIPMIAgainstReferenceBMC(t *testing.T) {
	addr, ch := startIPMI(t, "admin", "s3cret-pw")
	c := &Controller{Passwords: envSource(map[string]string{"BMC_PW": "s3cret-pw"}), Timeout: 20 * time.Second}
	cfg := Config{Type: IPMI, Address: addr, Username: "admin", PasswordEnv: "BMC_PW"}
	ctx := t.Context()

	if st, err := c.Power(ctx, cfg, Status); err != nil || st != PowerOff {
		t.Fatalf("status: %q, %v", st, err)
	}
	if _, err := c.Power(ctx, cfg, On); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Power(ctx, cfg, Status); err != nil || st != PowerOn {
		t.Fatalf("status after on: %q, %v", st, err)
	}
	if err := c.SetBootDevice(ctx, cfg, Network, false); err != nil {
		t.Fatal(err)
	}
	if f := ch.Flags(); f.BootDeviceSelector != types.BootDeviceSelectorForcePXE || f.Persist || !f.BootFlagsValid {
		t.Fatalf("boot flags after network once: %+v", f)
	}
	if _, err := c.Power(ctx, cfg, Cycle); err != nil {
		t.Fatal(err)
	}
	if ch.Cycles() != 1 {
		t.Errorf("power cycles %d, want 1", ch.Cycles())
	}
	if err := c.SetBootDevice(ctx, cfg, Disk, true); err != nil {
		t.Fatal(err)
	}
	if f := ch.Flags(); f.BootDeviceSelector != types.BootDeviceSelectorForceHardDrive || !f.Persist {
		t.Fatalf("boot flags after disk: %+v", f)
	}
	if _, err := c.Power(ctx, cfg, Off); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Power(ctx, cfg, Status); err != nil || st != PowerOff {
		t.Fatalf("status after off: %q, %v", st, err)
	}
	// Cycling a machine that is off turns it on (a BMC refuses the cycle).
	if err := c.NetbootAndCycle(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if !ch.On() || ch.Cycles() != 1 || ch.Flags().BootDeviceSelector != types.BootDeviceSelectorForcePXE {
		t.Errorf("netboot and cycle from off: on=%v cycles=%d flags=%+v", ch.On(), ch.Cycles(), ch.Flags())
	}
}

func TestIPMIWrongPassword(t *testing.T) {
	addr, ch := startIPMI(t, "admin", "right")
	c := &Controller{Passwords: envSource(map[string]string{"BMC_PW": "wrong"}), Timeout: 20 * time.Second}
	_, err := c.Power(t.Context(), Config{Type: IPMI, Address: addr, Username: "admin", PasswordEnv: "BMC_PW"}, On)
	if !errors.Is(err, ErrCredentials) {
		t.Fatalf("error %v, want ErrCredentials", err)
	}
	if ch.On() {
		t.Error("the machine was powered on with a wrong password")
	}
	if containsAny(err.Error(), "wrong") {
		t.Errorf("the error shows the password: %v", err)
	}
	_, err = c.Power(t.Context(), Config{Type: IPMI, Address: addr, Username: "nobody", PasswordEnv: "BMC_PW"}, Status)
	if !errors.Is(err, ErrCredentials) {
		t.Fatalf("unknown user: error %v, want ErrCredentials", err)
	}
}

func TestIPMIUnreachable(t *testing.T) {
	// A UDP port that nobody listens on any more.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	c := &Controller{Passwords: envSource(map[string]string{"P": "x"}), Timeout: 3 * time.Second}
	_, err = c.Power(t.Context(), Config{Type: IPMI, Address: "127.0.0.1:" + strconv.Itoa(port), Username: "admin", PasswordEnv: "P"}, Status)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("error %v, want ErrUnreachable", err)
	}
}
