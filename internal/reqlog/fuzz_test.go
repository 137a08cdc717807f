package reqlog

import (
	"errors"
	"log/slog"
	"testing"
	"time"
)

// FuzzLine holds LogRequest to slog's handlers, both formats, for any
// strings, status, duration, time and levels. Seeds: testdata/fuzz/FuzzLine
// and oddStrings.
func FuzzLine(f *testing.F) {
	for _, s := range oddStrings {
		f.Add("GET", s, s, s, s, s, s, true, 200, int64(15234), someTime.UnixNano(), 0, 0)
	}
	f.Fuzz(func(t *testing.T, method, path, remote, mac, group, profile, errText string, hasErr bool,
		status int, duration, unixNano int64, level, minLevel int) {
		r := Request{Method: method, Path: path, Status: status, Duration: time.Duration(duration), Remote: remote,
			MAC: mac, Group: group, Profile: profile}
		if hasErr {
			r.Err = errors.New(errText)
		}
		tm := time.Unix(0, unixNano)
		if unixNano%3 == 0 {
			tm = tm.In(oddZone)
		} else if unixNano%3 == 1 {
			tm = tm.UTC()
		}
		checkSame(t, slog.Level(minLevel%16), tm, slog.Level(level%16), r)
	})
}
