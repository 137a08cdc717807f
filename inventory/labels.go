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

// hashString mixes s's length and three of its bytes into h: enough to
// spread the few tuples a server sees over a cache's slots.
func hashString(h uint, s string) uint {
	h = h*31 + uint(len(s))
	if n := len(s); n > 0 {
		h = h*961 + uint(s[0])*31 + uint(s[n/2])
		h = h*31 + uint(s[n-1])
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

// handle returns v's handle; hash is v's.
func (c *labelCache[T]) handle(v T, hash uint) unique.Handle[T] {
	hash ^= hash >> 17
	s := &c.slots[(hash*0x9E3779B1>>8)%labelSlots]
	if e := s.Load(); e != nil && e.v == v {
		return e.h
	}
	e := &labelEntry[T]{v: v, h: unique.Make(v)}
	s.Store(e)
	return e.h
}

func eventLabel(l label) unique.Handle[label] { return eventLabels.handle(l, l.hash()) }

func changeLabelOf(l changeLabel) unique.Handle[changeLabel] { return changeLabels.handle(l, l.hash()) }

func machineLabelOf(l machineLabel) unique.Handle[machineLabel] {
	return machineLabels.handle(l, l.hash())
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
