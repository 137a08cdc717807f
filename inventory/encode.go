package inventory

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the machine's JSON to b, exactly what json.Marshal
// writes from its struct tags, several times faster: the recorder writes
// every changed machine, with up to MaxEvents events, four times a second,
// and with encoding/json's reflection that was a tenth of a busy server's
// CPU. (It is not a MarshalJSON method: encoding/json re-scans what those
// return, which would cost more than it saves.)
func (m *Machine) AppendJSON(b []byte) ([]byte, error) {
	b = slices.Grow(b, 256+len(m.Events)*192)
	b = append(b, `{"key":`...)
	b = appendString(b, m.Key)
	if m.MAC != "" {
		b = append(b, `,"mac":`...)
		b = appendString(b, m.MAC)
	}
	if m.UUID != "" {
		b = append(b, `,"uuid":`...)
		b = appendString(b, m.UUID)
	}
	var err error
	b = append(b, `,"first_seen":`...)
	if b, err = appendTime(b, m.FirstSeen); err != nil {
		return nil, err
	}
	b = append(b, `,"last_seen":`...)
	if b, err = appendTime(b, m.LastSeen); err != nil {
		return nil, err
	}
	b = append(b, `,"last_endpoint":`...)
	b = appendString(b, m.LastEndpoint)
	if m.Group != "" {
		b = append(b, `,"group":`...)
		b = appendString(b, m.Group)
	}
	if m.Profile != "" {
		b = append(b, `,"profile":`...)
		b = appendString(b, m.Profile)
	}
	b = append(b, `,"state":`...)
	b = appendString(b, string(m.State))
	if h := m.Hardware; h != nil {
		b = h.appendJSON(b)
	}
	if len(m.Events) > 0 {
		b = append(b, `,"events":[`...)
		for i := range m.Events {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = m.Events[i].appendJSON(b); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	if len(m.Changes) > 0 {
		b = append(b, `,"changes":[`...)
		for i := range m.Changes {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = m.Changes[i].appendJSON(b); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

func (h *Hardware) appendJSON(b []byte) []byte {
	b = append(b, `,"hardware":{`...)
	sep := false
	for _, f := range [...]struct{ k, v string }{{"serial", h.Serial}, {"manufacturer", h.Manufacturer}, {"product", h.Product}, {"platform", h.Platform}, {"arch", h.Arch}} {
		if f.v == "" {
			continue
		}
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = append(b, '"')
		b = append(b, f.k...)
		b = append(b, `":`...)
		b = appendString(b, f.v)
	}
	return append(b, '}')
}

func (c *Change) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"time":`...)
	b, err := appendTime(b, c.Time)
	if err != nil {
		return nil, err
	}
	if c.From != "" {
		b = append(b, `,"from":`...)
		b = appendString(b, string(c.From))
	}
	b = append(b, `,"to":`...)
	b = appendString(b, string(c.To))
	b = append(b, `,"cause":`...)
	b = appendString(b, c.Cause)
	return append(b, '}'), nil
}

func (e *Event) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"time":`...)
	b, err := appendTime(b, e.Time)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"endpoint":`...)
	b = appendString(b, e.Endpoint)
	if e.Group != "" {
		b = append(b, `,"group":`...)
		b = appendString(b, e.Group)
	}
	if e.Profile != "" {
		b = append(b, `,"profile":`...)
		b = appendString(b, e.Profile)
	}
	if e.Remote != "" {
		b = append(b, `,"remote":`...)
		b = appendString(b, e.Remote)
	}
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	if e.LocalBoot {
		b = append(b, `,"local_boot":true`...)
	}
	if e.State != "" {
		b = append(b, `,"state":`...)
		b = appendString(b, string(e.State))
	}
	if e.Cause != "" {
		b = append(b, `,"cause":`...)
		b = appendString(b, e.Cause)
	}
	if e.Repeats != 0 {
		b = append(b, `,"repeats":`...)
		b = strconv.AppendInt(b, int64(e.Repeats), 10)
	}
	if !e.Last.IsZero() {
		b = append(b, `,"last":`...)
		if b, err = appendTime(b, e.Last); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendTime is time.Time's MarshalJSON (RFC 3339 with nanoseconds),
// which also refuses years outside 0-9999.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		v, err := json.Marshal(t)
		return append(b, v...), err
	}
	if t.Location() != time.UTC {
		b = append(b, '"')
		b = t.AppendFormat(b, time.RFC3339Nano)
		return append(b, '"'), nil
	}
	// UTC, as every recorded event is: RFC 3339 with the nanoseconds
	// trimmed of trailing zeros, by hand (AppendFormat parses its layout
	// on every call).
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	b = append(b, '"')
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, min, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	if ns := t.Nanosecond(); ns != 0 {
		var frac [9]byte
		for i := 8; i >= 0; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 9
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, '.')
		b = append(b, frac[:n]...)
	}
	return append(b, 'Z', '"'), nil
}

func appendDigits(b []byte, v, width int) []byte {
	var d [4]byte
	for i := width - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:width]...)
}

// appendString quotes s as encoding/json does: plain printable ASCII as
// it is, anything that needs escaping (quotes, backslashes, control
// characters, <, >, &, invalid UTF-8, U+2028, U+2029) through
// encoding/json itself.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			v, _ := json.Marshal(s)
			return append(b, v...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
