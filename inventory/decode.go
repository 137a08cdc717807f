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
	out := make([]Event, len(evs))
	copy(out, evs)
	return out, true
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
	out := make([]Change, len(cs))
	copy(out, cs)
	return out, true
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
	j := d.i + 1
	for j < len(d.b) && verbatim[d.b[j]] {
		j++
	}
	if j >= len(d.b) || d.b[j] != '"' {
		return nil, false // an escape, a byte beyond printable ASCII, or the end
	}
	s := d.b[d.i+1 : j]
	d.i = j + 1
	return s, true
}

// verbatim says which bytes a string on the fast path holds as they are:
// printable ASCII but the quote and the backslash.
var verbatim = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

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
// UnmarshalJSON returns: time's RFC 3339 parser builds it with time.Date
// in UTC, which is time.Unix(seconds, nanoseconds).UTC(). Any other
// form (an offset, which may come back in time.Local) is
// json.Unmarshal's to read.
func (d *decoder) time() (time.Time, bool) {
	b, ok := d.span()
	if !ok || len(b) < len("2006-01-02T15:04:05Z") || b[len(b)-1] != 'Z' ||
		b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	year := digits4(b[0:4])
	month, day := digits2(b[5:7]), digits2(b[8:10])
	hour, minute, sec := digits2(b[11:13]), digits2(b[14:16]), digits2(b[17:19])
	if year < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) ||
		hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) == 1 || len(frac) > 10 {
			return time.Time{}, false
		}
		for _, c := range frac[1:] {
			if c < '0' || c > '9' {
				return time.Time{}, false
			}
			nsec = nsec*10 + int(c-'0')
		}
		for range 10 - len(frac) {
			nsec *= 10
		}
	}
	unix := (daysSinceEpoch(year, month, day)*24+int64(hour))*3600 + int64(minute)*60 + int64(sec)
	return time.Unix(unix, int64(nsec)).UTC(), true
}

// digits2 and digits4 are the value of 2 and 4 decimal digits, -1 if
// one is not a digit.
func digits2(b []byte) int {
	h, l := int(b[0])-'0', int(b[1])-'0'
	if uint(h) > 9 || uint(l) > 9 {
		return -1
	}
	return h*10 + l
}

func digits4(b []byte) int {
	h, l := digits2(b[0:2]), digits2(b[2:4])
	if h < 0 || l < 0 {
		return -1
	}
	return h*100 + l
}

// daysSinceEpoch is the number of days from 1970-01-01 to the date (a
// valid one, proleptic Gregorian), by Howard Hinnant's days_from_civil.
func daysSinceEpoch(year, month, day int) int64 {
	y := int64(year)
	if month <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era-- // floor division for the years before 0
	}
	yoe := y - era*400
	m := int64(month)
	if m > 2 {
		m -= 3
	} else {
		m += 9
	}
	doy := (153*m+2)/5 + int64(day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
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
