package inventory

import (
	"math"
	"strconv"
	"time"
)

// A record keeps its times and its events' client addresses in fixed-size
// fields, not as time.Time (24 bytes) and strings (16 bytes and the bytes
// themselves, one allocation per event): at 100,000 machines that have
// booted, those were a third of the inventory's memory. What does not fit
// (a time in another location than UTC, or with a monotonic reading; an
// address other than IPv4's host:port) is kept whole beside the record or
// event, so that what comes out is always exactly what went in.

// stamp is a time as a record keeps it: nanoseconds since the Unix epoch
// (their top bit flipped, so that a zero stamp is the zero time), for a
// time in UTC without a monotonic reading between the years 1678 and 2262
// (every time the server records: its handlers record t.UTC(), and the
// store's times decode in UTC); zeroStamp for the zero time, and
// wideStamp for any other, which the record keeps whole elsewhere.
type stamp int64

const (
	zeroStamp stamp = 0
	wideStamp stamp = 1
)

// stampOf returns t as a stamp, and false when no stamp is t (the caller
// keeps t whole, and wideStamp in its stead).
func stampOf(t time.Time) (stamp, bool) {
	if t == (time.Time{}) {
		return zeroStamp, true
	}
	ns := t.UnixNano() // undefined out of int64's range: checked below
	if s := stamp(ns ^ math.MinInt64); s != zeroStamp && s != wideStamp && time.Unix(0, ns).UTC() == t {
		return s, true
	}
	return wideStamp, false
}

// time returns the time s is (s is not wideStamp).
func (s stamp) time() time.Time {
	if s == zeroStamp {
		return time.Time{}
	}
	return time.Unix(0, int64(s)^math.MinInt64).UTC()
}

// ns returns s as nanoseconds since the Unix epoch, false for the zero
// time and wideStamp.
func (s stamp) ns() (int64, bool) {
	return int64(s) ^ math.MinInt64, s != zeroStamp && s != wideStamp
}

// unixNano returns t.UnixNano(), false when that does not fit an int64.
func unixNano(t time.Time) (int64, bool) {
	const most = math.MaxInt64/int64(time.Second) - 1
	if sec := t.Unix(); sec < -most || sec > most {
		return 0, false
	}
	return t.UnixNano(), true
}

// add returns a+b, false when it overflows.
func add(a, b int64) (int64, bool) {
	d := a + b
	return d, (d >= a) == (b >= 0)
}

// sub returns a-b, false when it overflows.
func sub(a, b int64) (int64, bool) {
	d := a - b
	return d, (d < a) == (b > 0)
}

// parseRemote4 returns addr as an IPv4 address and port when addr is one
// written as appendRemote4 writes it ("10.0.0.1:4000": decimal, no
// leading zeros), so that appendRemote4 gives addr back byte for byte.
func parseRemote4(addr string) (ip uint32, port uint16, ok bool) {
	if len(addr) < len("0.0.0.0:0") || len(addr) > maxRemote4 {
		return 0, 0, false
	}
	// v is the number being read, n its digits; part counts the
	// octets read (4: the port is being read).
	v, n, part := uint32(0), 0, 0
	for i := 0; i < len(addr); i++ {
		c := addr[i]
		switch {
		case c >= '0' && c <= '9':
			if n > 0 && v == 0 { // a leading zero
				return 0, 0, false
			}
			v, n = v*10+uint32(c-'0'), n+1
			if n > 5 {
				return 0, 0, false
			}
		case n > 0 && v <= 255 && ((c == '.' && part < 3) || (c == ':' && part == 3)):
			ip = ip<<8 | v
			v, n, part = 0, 0, part+1
		default:
			return 0, 0, false
		}
	}
	if part != 4 || n == 0 || v > 65535 {
		return 0, 0, false
	}
	return ip, uint16(v), true
}

// maxRemote4 is the longest address appendRemote4 writes.
const maxRemote4 = len("255.255.255.255:65535")

// appendRemote4 appends ip:port to b, as parseRemote4 reads it.
func appendRemote4(b []byte, ip uint32, port uint16) []byte {
	b = append(b, octets[ip>>24]...)
	b = append(b, '.')
	b = append(b, octets[ip>>16&255]...)
	b = append(b, '.')
	b = append(b, octets[ip>>8&255]...)
	b = append(b, '.')
	b = append(b, octets[ip&255]...)
	b = append(b, ':')
	if port < 256 {
		return append(b, octets[port]...)
	}
	var d [5]byte
	i := len(d)
	for v := uint(port); v > 0; v /= 10 {
		i--
		d[i] = byte('0' + v%10)
	}
	return append(b, d[i:]...)
}

// octets are the decimal numbers 0 to 255.
var octets = func() (o [256]string) {
	for i := range o {
		o[i] = strconv.Itoa(i)
	}
	return
}()
