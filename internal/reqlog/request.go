package reqlog

import (
	"log/slog"
	"time"
)

// Message is the request line's message.
const Message = "request"

// Request is what one request's log line says. Method, Path, Status,
// Duration and Remote are always logged; MAC when not empty; Group and
// Profile when Group is not empty; Err, as Err.Error(), when not nil.
type Request struct {
	Method   string
	Path     string
	Status   int
	Duration time.Duration
	Remote   string
	MAC      string
	Group    string
	Profile  string
	Err      error
}

// AppendAttrs appends r's attributes, in the line's order, as slog
// attributes: what a Logger without a Handler is given.
func (r *Request) AppendAttrs(dst []slog.Attr) []slog.Attr {
	dst = append(dst,
		slog.String("method", r.Method),
		slog.String("path", r.Path),
		slog.Int("status", r.Status),
		slog.Duration("duration", r.Duration),
		slog.String("remote", r.Remote),
	)
	if r.MAC != "" {
		dst = append(dst, slog.String("mac", r.MAC))
	}
	if r.Group != "" {
		dst = append(dst, slog.String("group", r.Group), slog.String("profile", r.Profile))
	}
	if r.Err != nil {
		dst = append(dst, slog.String("err", r.Err.Error()))
	}
	return dst
}
