package etcd

import (
	"context"
	"fmt"
	"time"
)

// maxExtensions is how many times a request's time is extended by another
// RequestTimeout while the cluster still has a leader: a cluster that is
// slow (a busy machine, a burst of writes) is not an outage.
const maxExtensions = 2

// budget is the time one request to etcd may take, across its attempts:
// RequestTimeout from its start. When that is spent and the last attempt
// failed because the cluster could not answer, it waits up to half a
// RequestTimeout for some member to know a leader (an election to end);
// if one does, the cluster has its quorum and was only electing or slow,
// and the request gets another RequestTimeout, at most maxExtensions
// times, never past the caller's own deadline. So a request fails with
// storage.ErrUnavailable when no member knew a leader for half a
// RequestTimeout after a whole one was spent (no quorum: after 1.5
// RequestTimeouts, 6s by default), or when the cluster stayed too slow
// for 3 RequestTimeouts and the waits between them.
type budget struct {
	s        *Store
	start    time.Time
	deadline time.Time
	fixed    bool // the caller's deadline: never extended
	extended int
	retries  int    // attempts that failed and were tried again
	why      string // why the last retry was refused
}

// String says how the budget was spent, for the error of a request that
// ran out of it.
func (b *budget) String() string {
	n := "1 attempt"
	if b.retries > 0 {
		n = fmt.Sprintf("%d attempts", b.retries+1)
	}
	s := fmt.Sprintf("%s in %v", n, time.Since(b.start).Round(time.Millisecond))
	if b.why != "" {
		s += "; " + b.why
	}
	return s
}

func (s *Store) newBudget(parent context.Context) *budget {
	b := &budget{s: s, start: time.Now()}
	b.deadline = b.start.Add(s.cfg.RequestTimeout)
	if d, ok := parent.Deadline(); ok && d.Before(b.deadline) {
		b.deadline, b.fixed = d, true
	}
	return b
}

// attempt returns the context of the next attempt: attemptTimeout of
// the retries so far, within the budget.
func (b *budget) attempt(parent context.Context, perAttempt func(retry int) time.Duration) (context.Context, context.CancelFunc) {
	end := b.deadline
	if d := time.Now().Add(perAttempt(b.retries)); d.Before(end) {
		end = d
	}
	return context.WithDeadline(parent, end)
}

// retry says whether an attempt that failed with a retryable error may be
// tried again, and waits retryPause first when so.
func (b *budget) retry(parent context.Context) bool {
	if b.s.closed.Load() || parent.Err() != nil {
		return false
	}
	if time.Until(b.deadline) <= retryPause {
		switch {
		case b.fixed:
			b.why = "the caller's deadline"
			return false
		case b.extended >= maxExtensions:
			b.why = "the cluster has a leader but did not answer in time"
			return false
		case !b.s.waitLeader(parent, b.s.cfg.RequestTimeout/2):
			b.why = fmt.Sprintf("no member knew a leader for %v", (b.s.cfg.RequestTimeout / 2).Round(time.Millisecond))
			return false
		}
		b.extended++
		b.deadline = time.Now().Add(b.s.cfg.RequestTimeout)
	}
	b.retries++
	select {
	case <-parent.Done():
		return false
	case <-time.After(retryPause):
	}
	return true
}

// waitLeader waits up to within for a member to know a leader (an
// election to end): true as soon as one does, false when none did
// meanwhile (no quorum, or no member reachable).
func (s *Store) waitLeader(parent context.Context, within time.Duration) bool {
	ctx, cancel := context.WithTimeout(parent, max(within, 250*time.Millisecond))
	defer cancel()
	for {
		if s.hasLeader(ctx) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(retryPause):
		}
	}
}

// hasLeader asks every member, at once, whom it follows: true when one
// knows a leader. A member answers this from its own state, so it answers
// even when the cluster is too slow to commit or has no quorum.
func (s *Store) hasLeader(ctx context.Context) bool {
	eps := s.cli.Endpoints()
	found := make(chan bool, len(eps))
	for _, ep := range eps {
		go func() {
			resp, err := s.cli.Status(ctx, ep)
			found <- err == nil && resp.Leader != 0
		}()
	}
	for range eps {
		if <-found {
			return true
		}
	}
	return false
}
