package etcd

import (
	"slices"
	"time"

	"github.com/provisiond/provisiond/inventory"
)

// mergeMachine merges two records of one machine, kept by two replicas:
//   - the events are those of both, each once, in time order, the latest
//     inventory.MaxEvents kept;
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
	var newer []inventory.Event
	for _, e := range later.Events {
		if e.Time.After(earlier.LastSeen) {
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

// holdsAll reports whether later holds each of earlier's events, or had
// to drop it as older than the first event it keeps (it keeps the latest
// inventory.MaxEvents).
func holdsAll(later, earlier inventory.Machine) bool {
	if len(later.Events) == 0 {
		return len(earlier.Events) == 0
	}
	first := later.Events[0].Time
	for _, e := range earlier.Events {
		if len(later.Events) >= inventory.MaxEvents && e.Time.Before(first) {
			continue
		}
		if !slices.ContainsFunc(later.Events, func(x inventory.Event) bool { return sameEvent(x, e) }) {
			return false
		}
	}
	return true
}

// sameEvent: equal time and fields, as mergeEvents counts events once.
func sameEvent(x, y inventory.Event) bool {
	return x.Time.Equal(y.Time) && x.Endpoint == y.Endpoint && x.Group == y.Group &&
		x.Profile == y.Profile && x.Remote == y.Remote && x.Status == y.Status
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
// fields), in time order, the latest inventory.MaxEvents.
func mergeEvents(a, b []inventory.Event) []inventory.Event {
	type id struct {
		t                        int64
		endpoint, group, profile string
		remote                   string
		status                   int
	}
	key := func(e inventory.Event) id {
		return id{e.Time.UnixNano(), e.Endpoint, e.Group, e.Profile, e.Remote, e.Status}
	}
	seen := map[id]bool{}
	var out []inventory.Event
	for _, e := range append(slices.Clone(a), b...) {
		if k := key(e); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(x, y inventory.Event) int { return x.Time.Compare(y.Time) })
	if len(out) > inventory.MaxEvents {
		out = out[len(out)-inventory.MaxEvents:]
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
