package server

import (
	"net/http"
	"time"

	"github.com/provisiond/provisiond/internal/statuswriter"
	"github.com/provisiond/provisiond/resolve"
)

// reqInfo collects what the request log line reports; handlers fill it in.
// It also keeps the request's facts once parsed (parsed), so that they are
// parsed once per request (see Server.facts).
type reqInfo struct {
	// start is when requestLog took the request, the clock read once:
	// its duration's start and the time of the inventory event it
	// records (Server.record).
	start               time.Time
	mac, group, profile string
	err                 error
	facts               resolve.Facts
	parsed              bool
	// query is the request's query cache entry (nil: not kept).
	query *queryEntry
}

// logWriter is the ResponseWriter requestLog hands down: the status it
// observes and the request's log info in one allocation. The info rides
// on the writer rather than in the request's context because a context
// value costs a copy of the request (http.Request.WithContext) and a
// context node on every boot request, the largest share of the garbage a
// cached answer leaves (see docs/performance.md, "Steady state, third
// pass").
type logWriter struct {
	statuswriter.Writer
	info reqInfo
}

// infoFrom returns the request's log info, nil outside requestLog. It
// looks through writers that wrap the logWriter and say so with
// Unwrap, as http.ResponseController does.
func infoFrom(w http.ResponseWriter) *reqInfo {
	for {
		switch x := w.(type) {
		case *logWriter:
			return &x.info
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return nil
		}
	}
}
