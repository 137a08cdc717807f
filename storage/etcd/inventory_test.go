package etcd_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/provisiond/provisiond/inventory"
)

// TestWalkMachinesOneRevision: WalkMachines reads the inventory a page at
// a time, every page at the revision of the first, so that a walk is one
// consistent inventory, as Machines is: records another replica writes
// while the walk is under way (a new one beyond the first page, a change
// to one there) are not in it.
func TestWalkMachinesOneRevision(t *testing.T) {
	c := singleMember(t)
	prefix := fmt.Sprintf("/walk/%d/", prefixes.Add(1))
	s, other := open(t, c, prefix), open(t, c, prefix)
	defer s.Close()
	defer other.Close()
	t0 := time.Date(2026, 12, 1, 13, 49, 26, 0, time.UTC)
	record := func(i int, endpoint string) inventory.Machine {
		return inventory.Machine{Key: testMAC(i), MAC: testMAC(i), FirstSeen: t0, LastSeen: t0, LastEndpoint: endpoint, State: inventory.Discovered}
	}
	var ms []inventory.Machine
	for i := range 1500 { // two pages
		ms = append(ms, record(i, "/ipxe"))
	}
	if err := s.SaveMachines(t.Context(), ms); err != nil {
		t.Fatal(err)
	}
	walked := map[string]string{}
	err := s.WalkMachines(t.Context(), func(m inventory.Machine) error {
		if len(walked) == 0 {
			// another replica, during the first page
			if err := other.SaveMachines(t.Context(), []inventory.Machine{record(1999, "/ipxe"), record(1400, "/ignition")}); err != nil {
				return err
			}
		}
		walked[m.Key] = m.LastEndpoint
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(walked) != 1500 {
		t.Errorf("walked %d records, want the 1500 stored when the walk began", len(walked))
	}
	if e, ok := walked[testMAC(1400)]; !ok || e != "/ipxe" {
		t.Errorf("%s walked with last endpoint %q (%v), want it as it was when the walk began (/ipxe)", testMAC(1400), e, ok)
	}
	if ms, err := s.Machines(t.Context()); err != nil || len(ms) != 1501 {
		t.Errorf("after the walk, Machines: %d records, %v; want 1501", len(ms), err)
	}
}
