//go:build e2e

package ipmi

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/provisiond/provisiond/bmc"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/lifecycle"
	"github.com/provisiond/provisiond/storage/bolt"
)

// TestIPMIReprovision: the lifecycle service, with a real inventory in a
// real bbolt file, reprovisions an installed machine whose BMC is
// ipmi_sim: the VM, running from its disk (order=c), is restarted from
// the network (order=n), the machine is marked reprovisioning, and the
// timeline, BMC operation included, is in the store.
func TestIPMIReprovision(t *testing.T) {
	bins := need(t, "ipmi_sim", "qemu-system-x86_64")
	s := startSim(t, bins)
	const mac = "52:54:00:e2:e1:01"
	dataDir := t.TempDir()
	store, err := bolt.Open(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	rec := inventory.NewRecorder(store, nil, nil)
	ctl := &bmc.Controller{Timeout: 30 * time.Second,
		Passwords: bmc.Source{LookupEnv: func(k string) (string, bool) { return password, k == "BMC_PW" }}}
	svc := &lifecycle.Service{Inventory: rec, BMC: ctl}
	node := lifecycle.Machine{Name: "node1", MAC: mac,
		BMC: &bmc.Config{Type: bmc.IPMI, Address: s.addr, Username: "admin", PasswordEnv: "BMC_PW"}}
	ctx := t.Context()

	var err2 error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if _, err2 = svc.Power(ctx, node, bmc.Status); err2 == nil {
			break
		}
	}
	if err2 != nil {
		t.Fatalf("ipmi_sim did not answer: %v", err2)
	}
	// The machine runs its installed OS from the disk.
	if _, err := svc.Power(ctx, node, bmc.On); err != nil {
		t.Fatal(err)
	}
	if order, _ := s.waitStart(t, 1); order != "c" {
		t.Fatalf("first start order=%s", order)
	}
	if _, err := svc.SetState(ctx, node, inventory.Installed, "installed before provisiond"); err != nil {
		t.Fatal(err)
	}

	r, err := svc.Reprovision(ctx, node, "e2e")
	if err != nil || !r.PowerCycled || r.Machine.State != inventory.Reprovisioning {
		t.Fatalf("reprovision: %+v, %v", r, err)
	}
	if order, _ := s.waitStart(t, 2); order != "n" {
		t.Errorf("after reprovision the VM started with order=%s, want n (the network)", order)
	}
	if _, err := svc.Power(ctx, node, bmc.Off); err != nil {
		t.Fatal(err)
	}

	// What the store holds, as a restarted provisiond would load it.
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	store, err = bolt.Open(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ms, err := store.Machines(ctx)
	if err != nil || len(ms) != 1 {
		t.Fatalf("stored machines %v, %v", ms, err)
	}
	m := ms[0]
	var events, changes []string
	for _, e := range m.Events {
		events = append(events, e.Endpoint+" "+strconv.Itoa(e.Status))
	}
	for _, c := range m.Changes {
		changes = append(changes, string(c.To)+" ("+c.Cause+")")
	}
	t.Logf("stored: state %s; events %s; changes %s", m.State, strings.Join(events, ", "), strings.Join(changes, ", "))
	if m.State != inventory.Reprovisioning ||
		strings.Join(events, ",") != "bmc:on 200,operator 200,operator 200,bmc:reprovision 200,bmc:off 200" ||
		strings.Join(changes, ",") != "installed (operator: installed before provisiond),reprovisioning (operator: e2e)" {
		t.Errorf("stored record: state %s, events %v, changes %v", m.State, events, changes)
	}
}
