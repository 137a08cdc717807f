package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provisiond/provisiond/bmc"
	"github.com/provisiond/provisiond/inventory"
)

// store is a fake inventory store that keeps what was flushed.
type store struct {
	mu    sync.Mutex
	saved map[string]inventory.Machine
}

func (s *store) SaveMachines(_ context.Context, ms []inventory.Machine) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.saved == nil {
		s.saved = map[string]inventory.Machine{}
	}
	for _, m := range ms {
		s.saved[m.Key] = m
	}
	return nil
}

// fakeBMC records the commands it gets and fails with err when set.
type fakeBMC struct {
	calls []string
	err   error
	state bmc.PowerState
}

func (f *fakeBMC) Power(_ context.Context, cfg bmc.Config, op bmc.Op) (bmc.PowerState, error) {
	f.calls = append(f.calls, "power "+string(op)+" "+cfg.Address)
	if f.err != nil {
		return "", f.err
	}
	if op == bmc.Status {
		return f.state, nil
	}
	if op == bmc.Off {
		return bmc.PowerOff, nil
	}
	return bmc.PowerOn, nil
}

func (f *fakeBMC) NetbootAndCycle(_ context.Context, cfg bmc.Config) error {
	f.calls = append(f.calls, "netboot+cycle "+cfg.Address)
	return f.err
}

const mac = "52:54:00:aa:00:01"

var ipmiCfg = &bmc.Config{Type: bmc.IPMI, Address: "10.0.0.9", Username: "admin", PasswordEnv: "PW"}

func newService(t *testing.T) (*Service, *inventory.Recorder, *store, *fakeBMC) {
	st := &store{}
	rec := inventory.NewRecorder(st, nil, nil)
	f := &fakeBMC{state: bmc.PowerOn}
	t0 := time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
	n := 0
	return &Service{Inventory: rec, BMC: f, Now: func() time.Time { n++; return t0.Add(time.Duration(n) * time.Minute) }}, rec, st, f
}

// TestInstallReprovisionReinstall: the whole life of a machine through the
// service, with the boot side's requests recorded as the server does.
func TestInstallReprovisionReinstall(t *testing.T) {
	s, rec, st, f := newService(t)
	ctx := t.Context()
	node := Machine{Name: "node1", MAC: mac, BMC: ipmiCfg}
	boot := func(ep string, disk bool) {
		rec.Record(mac, "", inventory.Event{Time: s.now(), Endpoint: ep, Status: 200, Group: "install", Profile: "installer", LocalBoot: disk})
	}
	boot("/ipxe", false)
	boot("/ignition", false)
	m, err := s.Report(ctx, mac, "", inventory.Installed, "10.0.2.15:4711")
	if err != nil || m.State != inventory.Installed {
		t.Fatalf("report: %v %v", m.State, err)
	}
	if !inventory.BootDisk(m, true) {
		t.Fatal("an installed machine of an install-once group does not boot its disk")
	}
	boot("/ipxe", true)
	r, err := s.Reprovision(ctx, node, "new disk")
	if err != nil || !r.PowerCycled || r.Machine.State != inventory.Reprovisioning {
		t.Fatalf("reprovision: %+v %v", r, err)
	}
	if strings.Join(f.calls, ";") != "netboot+cycle 10.0.0.9" {
		t.Errorf("bmc calls %v", f.calls)
	}
	// The old OS reports again before the machine reboots: refused.
	if _, err := s.Report(ctx, mac, "", inventory.Installed, ""); Status(err) != http.StatusConflict {
		t.Fatalf("stale report: %v (status %d)", err, Status(err))
	}
	boot("/ipxe", false)
	boot("/ignition", false)
	if m, err = s.Report(ctx, mac, "", inventory.Installed, ""); err != nil || m.State != inventory.Installed {
		t.Fatalf("second install: %v %v", m.State, err)
	}
	var to []string
	for _, c := range m.Changes {
		to = append(to, string(c.To)+" ("+c.Cause+")")
	}
	want := "booting (/ipxe),configured (/ignition),installed (/installed),reprovisioning (operator: new disk),booting (/ipxe),configured (/ignition),installed (/installed)"
	if strings.Join(to, ",") != want {
		t.Errorf("timeline %s\nwant     %s", strings.Join(to, ","), want)
	}
	// The BMC operation is an event, and the refused report too.
	var eps []string
	for _, e := range m.Events {
		eps = append(eps, fmt.Sprintf("%s %d", e.Endpoint, e.Status))
	}
	if got := strings.Join(eps, ","); !strings.Contains(got, "bmc:reprovision 200,/installed 200,/ipxe 200") {
		t.Errorf("events %s", got)
	}
	// Every command was flushed to the store.
	if saved := st.saved[mac]; saved.State != inventory.Installed || len(saved.Changes) != 7 {
		t.Errorf("stored %v with %d changes", saved.State, len(saved.Changes))
	}
}

func TestReprovisionWithoutBMC(t *testing.T) {
	s, _, _, f := newService(t)
	r, err := s.Reprovision(t.Context(), Machine{Name: "old", MAC: mac}, "")
	if err != nil || r.PowerCycled || r.Warning == "" || r.Machine.State != inventory.Reprovisioning {
		t.Fatalf("%+v %v", r, err)
	}
	if len(f.calls) != 0 {
		t.Errorf("bmc called: %v", f.calls)
	}
}

func TestReprovisionBMCFails(t *testing.T) {
	s, rec, _, f := newService(t)
	f.err = fmt.Errorf("ipmi 10.0.0.9: %w (no answer in time)", bmc.ErrUnreachable)
	_, err := s.Reprovision(t.Context(), Machine{Name: "n", MAC: mac, BMC: ipmiCfg}, "")
	if Status(err) != http.StatusGatewayTimeout || !strings.Contains(err.Error(), "marked reprovisioning") {
		t.Fatalf("error %v (status %d)", err, Status(err))
	}
	m, _ := rec.Get(mac)
	if m.State != inventory.Reprovisioning {
		t.Errorf("state %s: the mark must stay", m.State)
	}
	last := m.Events[len(m.Events)-1]
	if last.Endpoint != "bmc:reprovision" || last.Status != http.StatusGatewayTimeout || !strings.Contains(last.Cause, "unreachable") {
		t.Errorf("bmc event %+v", last)
	}
}

func TestPower(t *testing.T) {
	s, rec, _, f := newService(t)
	ctx := t.Context()
	node := Machine{Name: "node1", MAC: mac, BMC: ipmiCfg}
	for _, tc := range []struct {
		op   bmc.Op
		want bmc.PowerState
	}{{bmc.Status, bmc.PowerOn}, {bmc.Off, bmc.PowerOff}, {bmc.On, bmc.PowerOn}, {bmc.Cycle, bmc.PowerOn}} {
		if st, err := s.Power(ctx, node, tc.op); err != nil || st != tc.want {
			t.Errorf("%s: %q %v", tc.op, st, err)
		}
	}
	m, _ := rec.Get(mac)
	if len(m.Events) != 3 || m.Events[0].Endpoint != "bmc:off" || !m.LastSeen.IsZero() {
		t.Errorf("events %+v, last seen %v (a power command is not a sighting)", m.Events, m.LastSeen)
	}
	if _, err := s.Power(ctx, Machine{MAC: mac}, bmc.On); !errors.Is(err, ErrNoBMC) || Status(err) != http.StatusConflict || !strings.Contains(err.Error(), "give its machines/ entry a bmc") {
		t.Errorf("no bmc: %v", err)
	}
	f.err = fmt.Errorf("%w: refused", bmc.ErrCredentials)
	if _, err := s.Power(ctx, node, bmc.Status); Status(err) != http.StatusBadGateway {
		t.Errorf("refused credentials: %v", err)
	}
}

func TestSetState(t *testing.T) {
	s, _, _, _ := newService(t)
	ctx := t.Context()
	m, err := s.SetState(ctx, Machine{Name: "legacy", MAC: mac}, inventory.Installed, "adopted: installed by hand")
	if err != nil || m.State != inventory.Installed || m.Changes[0].Cause != "operator: adopted: installed by hand" {
		t.Fatalf("%+v %v", m, err)
	}
	if _, err := s.SetState(ctx, Machine{MAC: mac}, inventory.Booting, ""); Status(err) != http.StatusBadRequest {
		t.Errorf("booting: %v", err)
	}
	if _, err := s.SetState(ctx, Machine{Name: "ghost"}, inventory.Installed, ""); Status(err) != http.StatusBadRequest {
		t.Errorf("no identity: %v", err)
	}
	if _, err := s.Report(ctx, mac, "", inventory.Reprovisioning, ""); Status(err) != http.StatusBadRequest {
		t.Errorf("reporting reprovisioning: %v", err)
	}
	if m, err := s.Report(ctx, mac, "", inventory.Failed, ""); err != nil || m.State != inventory.Failed {
		t.Errorf("failed: %v %v", m.State, err)
	}
}

func TestStatus(t *testing.T) {
	for err, want := range map[error]int{
		nil:                      200,
		inventory.ErrState:       400,
		inventory.ErrTransition:  409,
		ErrNoBMC:                 409,
		bmc.ErrConfig:            422,
		bmc.ErrCredentials:       502,
		bmc.ErrBMC:               502,
		bmc.ErrUnreachable:       504,
		context.DeadlineExceeded: 504,
		errors.New("disk"):       500,
	} {
		if got := Status(fmt.Errorf("wrapped: %w", err)); err != nil && got != want {
			t.Errorf("%v: %d, want %d", err, got, want)
		}
	}
}
