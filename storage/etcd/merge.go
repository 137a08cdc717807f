package etcd

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/provisiond/provisiond/inventory"
)

// mergeMachine merges two records of one machine, kept by two replicas:
//   - the events are those of both, each once, in time order, the latest
//     inventory.MaxEvents kept; of two copies of one event that counts
//     repeats (inventory.Event.Repeats), the one that counted more;
//   - first seen is the earlier of the two;
//   - last seen, last endpoint, group, profile and state are those of the
//     record seen last, with the events the other one holds after it
//     folded in through the inventory's own rules, so that a state is
//     derived from the events in the order the machine sent them.
//
// Merging a record with itself, or with an older copy of itself, gives
// the record.
func mergeMachine(a, b inventory.Machine) inventory.Machine {
	earlier, later := a, b
	if b.LastSeen.Before(a.LastSeen) {
		earlier, later = b, a
	}
	// A record that already holds every event of the other one (the same
	// replica writing its record again as the machine moves on) is the
	// merge: folding its events again would add timeline entries twice.
	if holdsAll(later, earlier) {
		merged := later
		merged.FirstSeen = earliest(a.FirstSeen, b.FirstSeen)
		return merged
	}
	// Fold the later record's newer events into the earlier record, as
	// the recorder would have had it seen them all. (inventory.Recorder
	// is the one place that knows how an event moves a record on.)
	// (An event that counts repeats is newer if its last repeat is.)
	var newer []inventory.Event
	for _, e := range later.Events {
		if e.Time.After(earlier.LastSeen) || e.Last.After(earlier.LastSeen) {
			newer = append(newer, e)
		}
	}
	merged := later
	if len(newer) > 0 {
		r := inventory.NewRecorder(nil, []inventory.Machine{earlier}, nil)
		for _, e := range newer {
			r.Record(later.MAC, later.UUID, e)
		}
		if m, ok := r.Get(inventory.Key(later.MAC, later.UUID)); ok && m.Key == later.Key {
			merged = m
		}
	}
	if merged.MAC == "" {
		merged.MAC = earlier.MAC
	}
	if merged.UUID == "" {
		merged.UUID = earlier.UUID
	}
	merged.FirstSeen = earliest(a.FirstSeen, b.FirstSeen)
	merged.Events = mergeEvents(a.Events, b.Events)
	return merged
}

// holdsAll reports whether later holds each of earlier's events (a copy
// that counted as many repeats or more), or had to drop it as older than
// the first event it keeps (it keeps the latest inventory.MaxEvents).
func holdsAll(later, earlier inventory.Machine) bool {
	if len(later.Events) == 0 {
		return len(earlier.Events) == 0
	}
	first := later.Events[0].Time
	for _, e := range earlier.Events {
		if len(later.Events) >= inventory.MaxEvents && e.Time.Before(first) {
			continue
		}
		if !slices.ContainsFunc(later.Events, func(x inventory.Event) bool { return sameEvent(x, e) && !newerCopy(e, x) }) {
			return false
		}
	}
	return true
}

// eventID is what identifies an event among a machine's: its time and
// fields. The remote's port is not part of it: an event that counts
// repeats has its newest request's remote, and two replicas' copies of it
// may differ there, as in Repeats and Last.
type eventID struct {
	t                        int64
	endpoint, group, profile string
	host                     string
	status                   int
}

func idOf(e inventory.Event) eventID {
	return eventID{e.Time.UnixNano(), e.Endpoint, e.Group, e.Profile, inventory.RemoteHost(e.Remote), e.Status}
}

// sameEvent: copies of one event (equal time and fields), as mergeEvents
// counts events once.
func sameEvent(x, y inventory.Event) bool {
	return x.Time.Equal(y.Time) && idOf(x) == idOf(y)
}

// newerCopy reports whether x is to be kept over y, another copy of the
// same event: it counted more repeats, or as many until later. Between
// copies that agree on both (which one replica never writes), the order
// of their other fields decides, so that merging is commutative.
func newerCopy(x, y inventory.Event) bool {
	if x.Repeats != y.Repeats {
		return x.Repeats > y.Repeats
	}
	if !x.Last.Equal(y.Last) {
		return x.Last.After(y.Last)
	}
	return compareEvents(x, y) > 0
}

// compareEvents orders events by time, then by their fields: a total
// order, so that the merge of two records does not depend on which one is
// given first.
func compareEvents(x, y inventory.Event) int {
	if c := x.Time.Compare(y.Time); c != 0 {
		return c
	}
	return cmp.Or(
		strings.Compare(x.Endpoint, y.Endpoint), strings.Compare(x.Group, y.Group), strings.Compare(x.Profile, y.Profile),
		strings.Compare(x.Remote, y.Remote), cmp.Compare(x.Status, y.Status), strings.Compare(string(x.State), string(y.State)),
		strings.Compare(x.Cause, y.Cause), cmp.Compare(x.Repeats, y.Repeats), x.Last.Compare(y.Last), boolCompare(x.LocalBoot, y.LocalBoot))
}

func boolCompare(a, b bool) int {
	switch {
	case a == b:
		return 0
	case b:
		return -1
	}
	return 1
}

func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

// mergeEvents returns the events of a and b, each once (equal time and
// fields; of two copies the newer, newerCopy), in time order, the latest
// inventory.MaxEvents.
func mergeEvents(a, b []inventory.Event) []inventory.Event {
	at := map[eventID]int{}
	var out []inventory.Event
	for _, e := range append(slices.Clone(a), b...) {
		k := idOf(e)
		if i, ok := at[k]; ok {
			if newerCopy(e, out[i]) {
				out[i] = e
			}
			continue
		}
		at[k] = len(out)
		out = append(out, e)
	}
	slices.SortStableFunc(out, compareEvents)
	if len(out) > inventory.MaxEvents {
		out = out[len(out)-inventory.MaxEvents:]
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
