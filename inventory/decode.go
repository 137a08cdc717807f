package inventory

import (
	"encoding/json"
	"time"
)

// DecodeMachine returns the machine stored as data: exactly what
// json.Unmarshal gives into a zero Machine, error included, several
// times faster for what AppendJSON writes. A restart reads every stored
// machine (at 100,000 booted machines, 110 MB of JSON), and with
// encoding/json's reflection that was two thirds of the start's CPU.
//
// The fast path takes the subset of JSON that AppendJSON writes: no
// whitespace, the keys in AppendJSON's order (each one optional, none
// twice), strings of printable ASCII without escapes, integers of at
// most 18 digits, times as RFC 3339 in UTC ("Z", at most 9 fractional
// digits). Anything else (escapes, unknown, duplicate or reordered
// keys, null, other numbers, time zones, trailing bytes, invalid JSON)
// is handed to json.Unmarshal, so that what is accepted, what is
// refused, and every error's text are encoding/json's.
func DecodeMachine(data []byte) (Machine, error) {
	var m Machine
	d := decoder{b: data}
	if d.machine(&m) && d.i == len(d.b) {
		return m, nil
	}
	return unmarshalMachine(data)
}

// unmarshalMachine is json.Unmarshal into a zero Machine (its own, so
// that DecodeMachine's stays off the heap).
func unmarshalMachine(data []byte) (Machine, error) {
	var m Machine
	err := json.Unmarshal(data, &m)
	return m, err
}

// decoder is the fast path's state: the input and the read offset. A
// method that returns false leaves the input to json.Unmarshal; what it
// decoded until then is thrown away.
type decoder struct {
	b []byte
	i int
	// seen holds the strings of this machine that repeat within it
	// (an event's endpoint, group, profile, a change's cause), so that
	// each is allocated once per machine. Never shared across machines:
	// the recorder keeps what DecodeMachine returns.
	seen  [8]string
	nseen int
}

// field is one of an object's keys, quoted with its colon
// (`"key":`), in the order AppendJSON writes them.
type field = string

// key reports whether the next key is k (`,"name":` after the first
// key of an object, `"name":` for the first), and reads past it.
func (d *decoder) key(k field, first bool) bool {
	i := d.i
	if !first {
		if i >= len(d.b) || d.b[i] != ',' {
			return false
		}
		i++
	}
	if len(d.b)-i < len(k) || string(d.b[i:i+len(k)]) != k {
		return false
	}
	d.i = i + len(k)
	return true
}

// fields reads an object's keys in the order of keys, each at most
// once, calling value for each one present (with its index in keys);
// the object's '{' has been read, and fields reads its '}'.
func (d *decoder) fields(keys []field, value func(k int) bool) bool {
	first := true
	for k := 0; k < len(keys); k++ {
		if d.i < len(d.b) && d.b[d.i] == '}' {
			break
		}
		if !d.key(keys[k], first) {
			continue
		}
		first = false
		if !value(k) {
			return false
		}
	}
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return true
	}
	return false
}

var machineKeys = []field{`"key":`, `"mac":`, `"uuid":`, `"first_seen":`, `"last_seen":`, `"last_endpoint":`,
	`"group":`, `"profile":`, `"state":`, `"hardware":`, `"events":`, `"changes":`}

func (d *decoder) machine(m *Machine) bool {
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		return false
	}
	d.i++
	var ok bool
	return d.fields(machineKeys, func(k int) bool {
		switch k {
		case 0:
			m.Key, ok = d.str(true)
		case 1:
			m.MAC, ok = d.str(true)
		case 2:
			m.UUID, ok = d.str(false)
		case 3:
			m.FirstSeen, ok = d.time()
		case 4:
			m.LastSeen, ok = d.time()
		case 5:
			m.LastEndpoint, ok = d.str(true)
		case 6:
			m.Group, ok = d.str(true)
		case 7:
			m.Profile, ok = d.str(true)
		case 8:
			var s string
			s, ok = d.str(true)
			m.State = State(s)
		case 9:
			m.Hardware = &Hardware{}
			ok = d.hardware(m.Hardware)
		case 10:
			m.Events, ok = d.events()
		case 11:
			m.Changes, ok = d.changes()
		}
		return ok
	})
}

var hardwareKeys = []field{`"serial":`, `"manufacturer":`, `"product":`, `"platform":`, `"arch":`}

func (d *decoder) hardware(h *Hardware) bool {
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		return false
	}
	d.i++
	var ok bool
	return d.fields(hardwareKeys, func(k int) bool {
		switch k {
		case 0:
			h.Serial, ok = d.str(false)
		case 1:
			h.Manufacturer, ok = d.str(true)
		case 2:
			h.Product, ok = d.str(true)
		case 3:
			h.Platform, ok = d.str(true)
		case 4:
			h.Arch, ok = d.str(true)
		}
		return ok
	})
}

var eventKeys = []field{`"time":`, `"endpoint":`, `"group":`, `"profile":`, `"remote":`, `"status":`,
	`"local_boot":`, `"state":`, `"cause":`, `"repeats":`, `"last":`}

// events reads an array of events into a slice of its own length (the
// machine's events are at most MaxEvents; a scratch array holds them
// until their number is known).
func (d *decoder) events() ([]Event, bool) {
	var scratch [MaxEvents]Event
	evs := scratch[:0]
	if !d.array(func() bool {
		evs = append(evs, Event{})
		return d.event(&evs[len(evs)-1])
	}) {
		return nil, false
	}
	return append(make([]Event, 0, len(evs)), evs...), true
}

func (d *decoder) event(e *Event) bool {
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		return false
	}
	d.i++
	var ok bool
	return d.fields(eventKeys, func(k int) bool {
		switch k {
		case 0:
			e.Time, ok = d.time()
		case 1:
			e.Endpoint, ok = d.str(true)
		case 2:
			e.Group, ok = d.str(true)
		case 3:
			e.Profile, ok = d.str(true)
		case 4:
			e.Remote, ok = d.str(false)
		case 5:
			e.Status, ok = d.int()
		case 6:
			e.LocalBoot, ok = d.bool()
		case 7:
			var s string
			s, ok = d.str(true)
			e.State = State(s)
		case 8:
			e.Cause, ok = d.str(true)
		case 9:
			e.Repeats, ok = d.int()
		case 10:
			e.Last, ok = d.time()
		}
		return ok
	})
}

var changeKeys = []field{`"time":`, `"from":`, `"to":`, `"cause":`}

// changes is events for a machine's timeline.
func (d *decoder) changes() ([]Change, bool) {
	var scratch [MaxChanges]Change
	cs := scratch[:0]
	if !d.array(func() bool {
		cs = append(cs, Change{})
		return d.change(&cs[len(cs)-1])
	}) {
		return nil, false
	}
	return append(make([]Change, 0, len(cs)), cs...), true
}

func (d *decoder) change(c *Change) bool {
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		return false
	}
	d.i++
	var ok bool
	return d.fields(changeKeys, func(k int) bool {
		var s string
		switch k {
		case 0:
			c.Time, ok = d.time()
		case 1:
			s, ok = d.str(true)
			c.From = State(s)
		case 2:
			s, ok = d.str(true)
			c.To = State(s)
		case 3:
			c.Cause, ok = d.str(true)
		}
		return ok
	})
}

// array reads a JSON array, calling elem for each element. An empty
// array is json.Unmarshal's too: an empty slice, not nil.
func (d *decoder) array(elem func() bool) bool {
	if d.i >= len(d.b) || d.b[d.i] != '[' {
		return false
	}
	d.i++
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return true
	}
	for {
		if !elem() {
			return false
		}
		if d.i >= len(d.b) {
			return false
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return true
		default:
			return false
		}
	}
}

// span reads a string of printable ASCII without escapes and returns
// its bytes, without the quotes.
func (d *decoder) span() ([]byte, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, false
	}
	for j := d.i + 1; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			s := d.b[d.i+1 : j]
			d.i = j + 1
			return s, true
		case c < 0x20 || c > 0x7e || c == '\\':
			return nil, false
		}
	}
	return nil, false
}

// str reads a string (span). A string that repeats within the machine
// (repeats: an endpoint, a group, a state) is allocated once.
func (d *decoder) str(repeats bool) (string, bool) {
	b, ok := d.span()
	if !ok {
		return "", false
	}
	if len(b) == 0 {
		return "", true
	}
	if !repeats {
		return string(b), true
	}
	for _, s := range d.seen[:min(d.nseen, len(d.seen))] {
		if s == string(b) {
			return s, true
		}
	}
	s := string(b)
	d.seen[d.nseen%len(d.seen)] = s
	d.nseen++
	return s, true
}

// int reads an integer as AppendJSON writes it: an optional minus sign,
// then 0 or a digit string without leading zeros, at most 18 digits
// (no overflow to check).
func (d *decoder) int() (int, bool) {
	i, neg := d.i, false
	if i < len(d.b) && d.b[i] == '-' {
		neg = true
		i++
	}
	start, v := i, 0
	for ; i < len(d.b) && '0' <= d.b[i] && d.b[i] <= '9'; i++ {
		v = v*10 + int(d.b[i]-'0')
	}
	n := i - start
	if n == 0 || n > 18 || (n > 1 && d.b[start] == '0') {
		return 0, false
	}
	d.i = i
	if neg {
		v = -v
	}
	return v, true
}

func (d *decoder) bool() (bool, bool) {
	switch rest := d.b[d.i:]; {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		d.i += 4
		return true, true
	case len(rest) >= 5 && string(rest[:5]) == "false":
		d.i += 5
		return false, true
	}
	return false, false
}

// time reads a time as AppendJSON writes one in UTC:
// "2006-01-02T15:04:05Z" with 0 to 9 fractional digits, fields in
// the ranges time.Time's UnmarshalJSON checks. It is then the time that
// UnmarshalJSON returns (time.Date in UTC, as time's RFC 3339 parser
// builds it). Any other form (an offset, which may come back in
// time.Local) is json.Unmarshal's to read.
func (d *decoder) time() (time.Time, bool) {
	b, ok := d.span()
	if !ok || len(b) < len("2006-01-02T15:04:05Z") || b[len(b)-1] != 'Z' {
		return time.Time{}, false
	}
	if b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(s []byte) int {
		v := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(b[0:4]), num(b[5:7]), num(b[8:10])
	hour, minute, sec := num(b[11:13]), num(b[14:16]), num(b[17:19])
	if year < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) ||
		hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		digits := frac[1:]
		if frac[0] != '.' || len(digits) == 0 || len(digits) > 9 {
			return time.Time{}, false
		}
		if nsec = num(digits); nsec < 0 {
			return time.Time{}, false
		}
		for range 9 - len(digits) {
			nsec *= 10
		}
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

// daysIn is the number of days of month in year (proleptic Gregorian, as
// time's).
func daysIn(month time.Month, year int) int {
	if month == time.February {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 31 - int(month-1)%7%2
}
