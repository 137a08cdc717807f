package inventory

import (
	"math"
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

// parseRemote4 returns addr as an IPv4 address and port when addr is one
// written as appendRemote4 writes it ("10.0.0.1:4000": decimal, no
// leading zeros), so that appendRemote4 gives addr back byte for byte.
func parseRemote4(addr string) (ip uint32, port uint16, ok bool) {
	i := 0
	for n := range 4 {
		v, j := decimal(addr, i, 3)
		if j < 0 || v > 255 || j == len(addr) || addr[j] != "...:"[n] {
			return 0, 0, false
		}
		ip = ip<<8 | uint32(v)
		i = j + 1
	}
	v, j := decimal(addr, i, 5)
	if j != len(addr) || v > math.MaxUint16 {
		return 0, 0, false
	}
	return ip, uint16(v), true
}

// decimal reads at most most digits of s from i, without a leading zero
// (but "0" itself), and returns their value and where they end, -1 for
// none or a leading zero.
func decimal(s string, i, most int) (v, end int) {
	j := i
	for j < len(s) && j-i < most && s[j] >= '0' && s[j] <= '9' {
		v = v*10 + int(s[j]-'0')
		j++
	}
	if j == i || (s[i] == '0' && j-i > 1) {
		return 0, -1
	}
	return v, j
}

// maxRemote4 is the longest address appendRemote4 writes.
const maxRemote4 = len("255.255.255.255:65535")

// appendRemote4 appends ip:port to b, as parseRemote4 reads it.
func appendRemote4(b []byte, ip uint32, port uint16) []byte {
	for i := 3; i >= 0; i-- {
		b = appendUint(b, uint(ip>>(8*i))&255)
		if i > 0 {
			b = append(b, '.')
		}
	}
	return appendUint(append(b, ':'), uint(port))
}

func appendUint(b []byte, v uint) []byte {
	var d [5]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + v%10)
		if v /= 10; v == 0 {
			break
		}
	}
	return append(b, d[i:]...)
}
