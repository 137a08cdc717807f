package reqlog

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Handler is a slog.Handler that also writes request lines itself
// (LogRequest). Records go to the slog handler it wraps; both write
// through one locked writer, one Write a line.
type Handler struct {
	inner slog.Handler // slog's TextHandler or JSONHandler, on w
	w     *lockedWriter
	json  bool
}

// NewTextHandler returns slog.NewTextHandler(w, opts) wrapped in a
// Handler, whose request lines are the TextHandler's. With
// opts.ReplaceAttr or opts.AddSource it returns the TextHandler itself:
// the request line would have to go through ReplaceAttr, or name its
// caller, and only slog does that.
func NewTextHandler(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	return newHandler(w, opts, false)
}

// NewJSONHandler is NewTextHandler for slog.NewJSONHandler.
func NewJSONHandler(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	return newHandler(w, opts, true)
}

func newHandler(w io.Writer, opts *slog.HandlerOptions, json bool) slog.Handler {
	if opts == nil {
		opts = &slog.HandlerOptions{}
	}
	if opts.ReplaceAttr != nil || opts.AddSource {
		if json {
			return slog.NewJSONHandler(w, opts)
		}
		return slog.NewTextHandler(w, opts)
	}
	lw := &lockedWriter{w: w}
	h := &Handler{w: lw, json: json}
	if json {
		h.inner = slog.NewJSONHandler(lw, opts)
	} else {
		h.inner = slog.NewTextHandler(lw, opts)
	}
	return h
}

// Enabled is the wrapped handler's.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle writes r with the wrapped handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	return h.inner.Handle(ctx, r)
}

// WithAttrs returns the wrapped handler's WithAttrs: a handler without
// LogRequest (its lines would need the attributes), on the same locked
// writer.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return h.inner.WithAttrs(attrs)
}

// WithGroup is as WithAttrs.
func (h *Handler) WithGroup(name string) slog.Handler {
	return h.inner.WithGroup(name)
}

// LogRequest writes r's line at level, with time t, when the handler is
// enabled for level: the bytes slog's handler would write for a Record
// of time t, level, Message and r.AppendAttrs (a zero t is omitted, as
// slog does). It allocates nothing (past a line longer than the pooled
// buffer). Times outside years 0-9999, which slog's JSONHandler writes
// with an error, go through the wrapped handler.
func (h *Handler) LogRequest(ctx context.Context, t time.Time, level slog.Level, r Request) {
	if !h.inner.Enabled(ctx, level) {
		return
	}
	if y := t.Year(); h.json && !t.IsZero() && (y < 0 || y >= 10000) {
		var buf [9]slog.Attr
		rec := slog.NewRecord(t, level, Message, 0)
		rec.AddAttrs(r.AppendAttrs(buf[:0])...)
		_ = h.inner.Handle(ctx, rec)
		return
	}
	bp := bufPool.Get().(*[]byte)
	var b []byte
	if h.json {
		b = appendJSON((*bp)[:0], t, level, &r)
	} else {
		b = appendText((*bp)[:0], t, level, &r)
	}
	h.w.writeRequest(b)
	if cap(b) <= maxPooled {
		*bp = b[:0]
		bufPool.Put(bp)
	}
}

// maxPooled bounds the buffers kept for the next line, as slog does.
const maxPooled = 16 << 10

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 1024)
	return &b
}}

// Buffer makes h hold request lines in memory for at most delay, so that
// those of a busy second go out in a few writes, not one each: a write
// to the log file or pipe is a system call, which costs a request line
// more than its formatting (docs/performance.md, "Steady state, eleventh
// pass"). Every other record is written at once, after the request
// lines before it, so the log's order is kept and a warning is never
// late. A delay of 0 (the default) writes every line at once. Call it
// before the handler is used; Flush writes what is held.
func (h *Handler) Buffer(delay time.Duration) {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	h.w.delay = delay
	if delay > 0 && h.w.timer == nil {
		h.w.timer = time.AfterFunc(time.Hour, h.w.timeout)
		h.w.timer.Stop()
	}
}

// Flush writes the request lines Buffer holds, if any, and returns the
// writer's error.
func (h *Handler) Flush() error {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	return h.w.flushLocked()
}

// maxHeld is how many bytes of request lines are held before they are
// written without waiting for the delay: some 300 lines, a few
// milliseconds of a busy server's.
const maxHeld = 64 << 10

// lockedWriter serializes Writes: slog's handler (which holds its own
// mutex as well) and LogRequest write through it, one Write a line, or,
// with a delay (Handler.Buffer), request lines held and written
// together.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
	// delay is how long a request line may be held; held are the
	// lines, and armed says timer will write them.
	delay time.Duration
	held  []byte
	timer *time.Timer
	armed bool
}

// Write writes a record of slog's handler: the request lines held
// first. The record is written even when they could not be (a write
// may fail for a moment, or for their size alone).
func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	_ = w.flushLocked()
	return w.w.Write(p)
}

// writeRequest writes a request line, or holds it (Handler.Buffer). A
// write's error is dropped, as slog's Logger drops a handler's.
func (w *lockedWriter) writeRequest(p []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.delay <= 0 {
		_, _ = w.w.Write(p)
		return
	}
	w.held = append(w.held, p...)
	if len(w.held) >= maxHeld {
		_ = w.flushLocked()
		return
	}
	if !w.armed {
		w.armed = true
		w.timer.Reset(w.delay)
	}
}

// timeout writes the lines held when the first of them has waited the
// delay.
func (w *lockedWriter) timeout() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = false
	_ = w.flushLocked()
}

// flushLocked writes the lines held. They are dropped whether or not the
// write succeeds: a log that cannot be written must not grow the
// process.
func (w *lockedWriter) flushLocked() error {
	if len(w.held) == 0 {
		return nil
	}
	_, err := w.w.Write(w.held)
	if cap(w.held) > 4*maxHeld {
		w.held = nil
	} else {
		w.held = w.held[:0]
	}
	return err
}
