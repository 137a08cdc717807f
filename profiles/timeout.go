package profiles

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// ErrRenderTimeout is returned (wrapped) when a render takes longer than
// its time limit.
var ErrRenderTimeout = errors.New("template render took too long")

// ErrRenderBusy is returned (wrapped) when MaxAbandonedRenders renders
// that timed out are still running: a new render is refused rather than
// piling up goroutines behind a pathological template.
var ErrRenderBusy = errors.New("too many timed-out renders still running")

// DefaultRenderTimeout bounds one render when the caller gives no limit.
// Real templates render in microseconds to milliseconds.
const DefaultRenderTimeout = 2 * time.Second

// MaxAbandonedRenders bounds the renders that timed out but are still
// running: text/template cannot be interrupted, so such a render runs on
// until it ends (or, if it writes, until its next write, which fails).
const MaxAbandonedRenders = 8

var abandoned atomic.Int64

// AbandonedRenders returns the number of renders that timed out and are
// still running.
func AbandonedRenders() int64 { return abandoned.Load() }

// ExecuteTimeout renders like Execute but gives up after timeout (0 means
// DefaultRenderTimeout, negative no limit) with ErrRenderTimeout. The render
// runs in its own goroutine; one that times out keeps running, counted,
// until it returns, and the writer it renders into fails its next write so
// that a template that keeps writing stops at once. Every iteration of a
// range writes (guardRanges), so a loop that writes nothing stops too.
//
// A template without a range or a template call cannot loop: its render
// time is bounded by its size and data, so it runs inline, at no cost
// beyond Execute's (most boot fields are such templates).
func (t *Template) ExecuteTimeout(data any, max int, timeout time.Duration) ([]byte, error) {
	if timeout < 0 || !t.mayLoop {
		return t.Execute(data, max)
	}
	if timeout == 0 {
		timeout = DefaultRenderTimeout
	}
	if n := abandoned.Load(); n >= MaxAbandonedRenders {
		return nil, fmt.Errorf("template %s: %w (%d)", t.Name, ErrRenderBusy, n)
	}
	if max <= 0 {
		max = DefaultMaxOutput
	}
	type result struct {
		out []byte
		err error
	}
	// state goes from running to finished (the render sends its result)
	// or to abandoned (the caller gave up; the render counts itself out of
	// abandoned when it ends), whichever comes first.
	const (
		running int32 = iota
		finished
		gaveUp
	)
	var state atomic.Int32
	done := make(chan result, 1)
	w := &limitedBuffer{max: max, stop: func() bool { return state.Load() == gaveUp }}
	go func() {
		err := t.t.Execute(w, data)
		if !state.CompareAndSwap(running, finished) {
			abandoned.Add(-1)
			return
		}
		if err != nil {
			if errors.Is(err, ErrOutputTooLarge) {
				err = fmt.Errorf("template %s: %w (limit %d bytes)", t.Name, ErrOutputTooLarge, max)
			}
			done <- result{nil, err}
			return
		}
		done <- result{w.Bytes(), nil}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.out, r.err
	case <-timer.C:
	}
	// Abandon the render, unless it finished at this very moment.
	abandoned.Add(1)
	if !state.CompareAndSwap(running, gaveUp) {
		abandoned.Add(-1)
		r := <-done
		return r.out, r.err
	}
	return nil, fmt.Errorf("template %s took longer than %s: %w", t.Name, timeout, ErrRenderTimeout)
}

// RunTimeout runs f (a Butane translation, say) like ExecuteTimeout runs a
// render: on its own goroutine, given up after timeout (0 means
// DefaultRenderTimeout, negative no limit) with ErrRenderTimeout naming
// what, and counted among the abandoned renders until it returns.
func RunTimeout[T any](what string, timeout time.Duration, f func() (T, error)) (T, error) {
	var zero T
	if timeout < 0 {
		return f()
	}
	if timeout == 0 {
		timeout = DefaultRenderTimeout
	}
	if n := abandoned.Load(); n >= MaxAbandonedRenders {
		return zero, fmt.Errorf("%s: %w (%d)", what, ErrRenderBusy, n)
	}
	const (
		running int32 = iota
		finished
		gaveUp
	)
	var state atomic.Int32
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		if !state.CompareAndSwap(running, finished) {
			abandoned.Add(-1)
			return
		}
		done <- result{v, err}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.v, r.err
	case <-timer.C:
	}
	abandoned.Add(1)
	if !state.CompareAndSwap(running, gaveUp) {
		abandoned.Add(-1)
		r := <-done
		return r.v, r.err
	}
	return zero, fmt.Errorf("%s took longer than %s: %w", what, timeout, ErrRenderTimeout)
}
