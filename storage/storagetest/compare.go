package storagetest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
)

// checkMap reports the keys missing from got, the extra ones, and the
// values that differ (deeply, unexported fields included).
func checkMap[V any](t testing.TB, what string, got, want map[string]V) {
	t.Helper()
	for _, k := range sortedKeys(want) {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s/%s: missing", what, k)
			continue
		}
		if !reflect.DeepEqual(g, want[k]) {
			t.Errorf("%s/%s:\n got %s\nwant %s", what, k, show(g), show(want[k]))
		}
	}
	for _, k := range sortedKeys(got) {
		if _, ok := want[k]; !ok {
			t.Errorf("%s/%s: present, want absent: %s", what, k, show(got[k]))
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// show prints a value for a failure message: strings quoted (so stray
// bytes show), the rest as Go syntax plus JSON.
func show(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	js, _ := json.Marshal(v)
	return fmt.Sprintf("%+v %s", v, js)
}

// checkLeases compares two lease lists, order aside.
func checkLeases(t testing.TB, what string, got, want []ipam.Lease) {
	t.Helper()
	got, want = sortedLeases(got), sortedLeases(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %s\nwant %s", what, leaseList(got), leaseList(want))
	}
}

func leaseList(ls []ipam.Lease) string {
	var b strings.Builder
	for _, l := range ls {
		fmt.Fprintf(&b, "\n\t%s %s %s pinned=%v created=%d", l.Pool, l.Address, l.MAC, l.Pinned, l.Created)
	}
	if b.Len() == 0 {
		return "(none)"
	}
	return b.String()
}

// checkNoDoubles fails when an address or a (pool, mac) appears twice.
func checkNoDoubles(t testing.TB, ls []ipam.Lease) {
	t.Helper()
	addrs, macs := map[string]string{}, map[string]string{}
	for _, l := range ls {
		a := l.Pool + " " + l.Address.String()
		if other, dup := addrs[a]; dup {
			t.Errorf("address %s leased twice: to %s and %s", a, other, l.MAC)
		}
		addrs[a] = l.MAC
		m := l.Pool + " " + l.MAC
		if other, dup := macs[m]; dup {
			t.Errorf("mac %s holds two leases in pool %s: %s and %s", l.MAC, l.Pool, other, l.Address)
		}
		macs[m] = l.Address.String()
	}
}

// normMachines orders inventory records by key and puts their times in
// UTC, so that records that mean the same compare equal.
func normMachines(ms []inventory.Machine) []inventory.Machine {
	out := make([]inventory.Machine, len(ms))
	for i, m := range ms {
		m.FirstSeen, m.LastSeen = m.FirstSeen.UTC(), m.LastSeen.UTC()
		m.Events = slices.Clone(m.Events)
		for j := range m.Events {
			m.Events[j].Time = m.Events[j].Time.UTC()
			if !m.Events[j].Last.IsZero() {
				m.Events[j].Last = m.Events[j].Last.UTC()
			}
		}
		out[i] = m
	}
	slices.SortFunc(out, func(a, b inventory.Machine) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func checkMachines(t testing.TB, got, want []inventory.Machine) {
	t.Helper()
	got, want = normMachines(got), normMachines(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Machines:\n got %s\nwant %s", show(got), show(want))
	}
}
