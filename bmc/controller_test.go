package bmc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSession is an in-memory BMC; it counts the sessions open at once.
type fakeSession struct {
	b *fakeBMC
}

type fakeBMC struct {
	mu        sync.Mutex
	on        bool
	boot      BootDevice
	persist   bool
	cycles    int
	open, max atomic.Int32
	hold      chan struct{} // when not nil, each session waits on it
	calls     []string
}

func (b *fakeBMC) dial(ctx context.Context, c Config, cred Credentials) (Session, error) {
	if string(cred.Password) != "pw" {
		return nil, fmt.Errorf("%w: refused", ErrCredentials)
	}
	n := b.open.Add(1)
	for {
		m := b.max.Load()
		if n <= m || b.max.CompareAndSwap(m, n) {
			break
		}
	}
	if b.hold != nil {
		select {
		case <-b.hold:
		case <-ctx.Done():
			b.open.Add(-1)
			return nil, ctx.Err()
		}
	}
	return &fakeSession{b: b}, nil
}

func (s *fakeSession) log(c string) { s.b.mu.Lock(); s.b.calls = append(s.b.calls, c); s.b.mu.Unlock() }

func (s *fakeSession) PowerState(context.Context) (PowerState, error) {
	s.log("status")
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if s.b.on {
		return PowerOn, nil
	}
	return PowerOff, nil
}
func (s *fakeSession) SetPower(_ context.Context, on bool) error {
	s.log(fmt.Sprintf("power %v", on))
	s.b.mu.Lock()
	s.b.on = on
	s.b.mu.Unlock()
	return nil
}
func (s *fakeSession) PowerCycle(context.Context) error {
	s.log("cycle")
	s.b.mu.Lock()
	s.b.cycles++
	s.b.mu.Unlock()
	return nil
}
func (s *fakeSession) SetBootDevice(_ context.Context, d BootDevice, p bool) error {
	s.log(fmt.Sprintf("boot %s %v", d, p))
	s.b.mu.Lock()
	s.b.boot, s.b.persist = d, p
	s.b.mu.Unlock()
	return nil
}
func (s *fakeSession) Close(context.Context) error { s.b.open.Add(-1); return nil }

func fakeController(b *fakeBMC, max int) *Controller {
	return &Controller{MaxSessions: max, Timeout: time.Minute,
		Passwords: envSource(map[string]string{"PW": "pw", "BAD": "nope"}),
		Dialers:   map[Type]Dialer{IPMI: b.dial, Redfish: b.dial}}
}

var fakeCfg = Config{Type: IPMI, Address: "10.0.0.1", Username: "admin", PasswordEnv: "PW"}

// TestSessionBound: cycling 40 machines at once opens at most MaxSessions
// BMC sessions at a time, and every one of the 40 is cycled.
func TestSessionBound(t *testing.T) {
	b := &fakeBMC{on: true, hold: make(chan struct{})}
	c := fakeController(b, 3)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Power(t.Context(), fakeCfg, Cycle)
			errs <- err
		}()
	}
	// Let the sessions through one by one; the bound holds them back.
	go func() {
		for range 40 {
			b.hold <- struct{}{}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if b.cycles != 40 {
		t.Errorf("%d cycles, want 40", b.cycles)
	}
	if m := b.max.Load(); m > 3 || m < 1 {
		t.Errorf("%d sessions at once, want at most 3", m)
	}
}

func TestCycleTurnsOnWhenOff(t *testing.T) {
	b := &fakeBMC{}
	c := fakeController(b, 0)
	if err := c.NetbootAndCycle(t.Context(), fakeCfg); err != nil {
		t.Fatal(err)
	}
	want := "boot network false,status,power true"
	if got := strings.Join(b.calls, ","); got != want {
		t.Errorf("calls %s, want %s", got, want)
	}
	b.calls = nil
	if err := c.NetbootAndCycle(t.Context(), fakeCfg); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(b.calls, ","); got != "boot network false,status,cycle" {
		t.Errorf("calls %s", got)
	}
}

func TestTimeoutIsUnreachable(t *testing.T) {
	b := &fakeBMC{hold: make(chan struct{})} // never let through
	c := fakeController(b, 1)
	c.Timeout = 200 * time.Millisecond
	_, err := c.Power(t.Context(), fakeCfg, Status)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("error %v, want ErrUnreachable", err)
	}
}

func TestControllerErrors(t *testing.T) {
	c := fakeController(&fakeBMC{}, 1)
	bad := fakeCfg
	bad.PasswordEnv = "BAD"
	if _, err := c.Power(t.Context(), bad, On); !errors.Is(err, ErrCredentials) {
		t.Errorf("refused password: %v", err)
	}
	if _, err := c.Power(t.Context(), Config{Type: IPMI}, On); !errors.Is(err, ErrConfig) {
		t.Errorf("bad config: %v", err)
	}
	if _, err := c.Power(t.Context(), fakeCfg, Op("explode")); !errors.Is(err, ErrConfig) {
		t.Errorf("bad op: %v", err)
	}
}
