package inventory

import (
	"sync"
	"sync/atomic"
	"time"
	"unique"
)

// The strings of a record and its events that come from small sets (an
// endpoint, a state, a cause, a profile) are kept as one handle (8 bytes)
// of an interned tuple, not as strings (16 bytes each): the tuples of an
// event, of a change and of a machine. unique.Make interns them (and
// lets a tuple no record holds any more go), and a small cache in front
// of it finds the handle of a tuple seen before in a few nanoseconds, not
// the hundred of unique.Make, on the boot path's fold.

// label is what an event keeps of its endpoint, state, cause, status and
// local boot.
type label struct {
	endpoint  string
	cause     string
	state     State
	status    int
	localBoot bool
}

func (l *label) hash() uint {
	h := hashString(hashString(hashString(uint(l.status), l.endpoint), l.cause), string(l.state))
	if l.localBoot {
		h++
	}
	return h
}

// changeLabel is a change's from, to and cause, and its time when no
// stamp holds it (wide; else the zero time).
type changeLabel struct {
	from, to State
	cause    string
	wide     time.Time
}

func (l *changeLabel) hash() uint {
	return hashString(hashString(hashString(uint(l.wide.Nanosecond()), string(l.from)), string(l.to)), l.cause)
}

// machineLabel is a machine's last endpoint, state and profile.
type machineLabel struct {
	lastEndpoint string
	state        State
	profile      string
}

func (l *machineLabel) hash() uint {
	return hashString(hashString(hashString(0, l.lastEndpoint), string(l.state)), l.profile)
}

// hashString mixes s's length and its first and last bytes into h:
// enough to spread the few tuples a server sees over a cache's slots.
func hashString(h uint, s string) uint {
	h = h*31 + uint(len(s))
	if n := len(s); n > 0 {
		h = h*961 + uint(s[0])<<8 + uint(s[n-1])
	}
	return h
}

// labelSlots is the size of each tuple cache.
const labelSlots = 256

// labelCache maps a tuple to its handle: a direct-mapped cache in front
// of unique.Make, safe for concurrent use (each slot holds an immutable
// entry; a miss replaces it). An entry keeps the tuple as it was asked
// for, whose strings are the callers' (the boot server's are constants):
// equal strings at the same address compare without reading their bytes.
type labelCache[T comparable] struct {
	slots [labelSlots]atomic.Pointer[labelEntry[T]]
}

type labelEntry[T comparable] struct {
	v T
	h unique.Handle[T]
}

var (
	eventLabels   labelCache[label]
	changeLabels  labelCache[changeLabel]
	machineLabels labelCache[machineLabel]
)

// slot returns the slot of a tuple of hash h.
func (c *labelCache[T]) slot(h uint) *atomic.Pointer[labelEntry[T]] {
	return &c.slots[(uint64(h)*0x9E3779B97F4A7C15)>>(64-8)%labelSlots]
}

// miss makes v's handle and keeps it in s.
func (c *labelCache[T]) miss(s *atomic.Pointer[labelEntry[T]], v T) unique.Handle[T] {
	e := &labelEntry[T]{v: v, h: unique.Make(v)}
	s.Store(e)
	return e.h
}

// The lookups compare field by field (strings at the same address
// without reading them), not through the generic ==.

func eventLabel(l label) unique.Handle[label] {
	s := eventLabels.slot(l.hash())
	if e := s.Load(); e != nil && e.v.endpoint == l.endpoint && e.v.status == l.status && e.v.state == l.state &&
		e.v.cause == l.cause && e.v.localBoot == l.localBoot {
		return e.h
	}
	return eventLabels.miss(s, l)
}

func changeLabelOf(l changeLabel) unique.Handle[changeLabel] {
	s := changeLabels.slot(l.hash())
	if e := s.Load(); e != nil && e.v.to == l.to && e.v.from == l.from && e.v.cause == l.cause && e.v.wide == l.wide {
		return e.h
	}
	return changeLabels.miss(s, l)
}

func machineLabelOf(l machineLabel) unique.Handle[machineLabel] {
	s := machineLabels.slot(l.hash())
	if e := s.Load(); e != nil && e.v.lastEndpoint == l.lastEndpoint && e.v.state == l.state && e.v.profile == l.profile {
		return e.h
	}
	return machineLabels.miss(s, l)
}

// sharedHardware holds one copy of each machine hardware without a serial
// number (the facts most machines of a site share: arch, platform,
// manufacturer, product), at most maxSharedHardware of them. A record's
// Hardware is never changed in place (record.fold replaces it).
var sharedHardware struct {
	sync.Mutex
	m map[Hardware]*Hardware
}

const maxSharedHardware = 256

// hardwareOf returns h as a record keeps it: the shared copy when there
// is one (or room for one), else h itself (nil for nil).
func hardwareOf(h *Hardware) *Hardware {
	if h == nil || h.Serial != "" {
		return h
	}
	sharedHardware.Lock()
	defer sharedHardware.Unlock()
	if s := sharedHardware.m[*h]; s != nil {
		return s
	}
	if len(sharedHardware.m) < maxSharedHardware {
		if sharedHardware.m == nil {
			sharedHardware.m = map[Hardware]*Hardware{}
		}
		c := &Hardware{}
		c.merge(*h) // its own copies of the strings
		sharedHardware.m[*c] = c
		return c
	}
	return h
}
