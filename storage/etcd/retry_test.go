package etcd

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestUnavailable checks which errors are tried again (the cluster cannot
// answer now) and which are final, in the forms the client returns them:
// the gRPC status from the wire and the client's typed error.
func TestUnavailable(t *testing.T) {
	for _, tc := range []struct {
		err   error
		retry bool
	}{
		{rpctypes.ErrGRPCNoLeader, true},
		{rpctypes.ErrNoLeader, true},
		{rpctypes.ErrGRPCLeaderChanged, true},
		{rpctypes.ErrLeaderChanged, true},
		{rpctypes.ErrGRPCTimeout, true},
		{rpctypes.ErrTimeout, true},
		{rpctypes.ErrGRPCTimeoutDueToLeaderFail, true},
		{rpctypes.ErrGRPCTimeoutDueToConnectionLost, true},
		{rpctypes.ErrGRPCRequestTooManyRequests, true},
		{rpctypes.ErrTooManyRequests, true},
		{rpctypes.ErrGRPCNoSpace, false},
		{rpctypes.ErrNoSpace, false},
		{rpctypes.ErrGRPCStopped, true},
		{context.DeadlineExceeded, true},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), true},
		{clientv3.ErrNoAvailableEndpoints, true},
		{status.Error(codes.Unknown, "raft: stopped"), true},
		{status.Error(codes.Unknown, "something else"), false},
		{rpctypes.ErrGRPCCompacted, false},
		{rpctypes.ErrGRPCRequestTooLarge, false},
		{rpctypes.ErrGRPCTooManyOps, false},
		{rpctypes.ErrGRPCDuplicateKey, false},
		{errors.New("stored lease: invalid character"), false},
	} {
		if got := unavailable(tc.err); got != tc.retry {
			t.Errorf("unavailable(%v) = %v, want %v", tc.err, got, tc.retry)
		}
	}
}

// TestAttemptTimeout checks the escalation: a quarter of the request
// timeout first, then twice the attempt before.
func TestAttemptTimeout(t *testing.T) {
	s := &Store{cfg: Config{RequestTimeout: 4 * time.Second}}
	var got []time.Duration
	for retry := range 4 {
		got = append(got, s.attemptTimeout(retry))
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("attempt timeouts %v, want %v", got, want)
	}
	if d := (&Store{cfg: Config{RequestTimeout: 400 * time.Millisecond}}).attemptTimeout(0); d != 250*time.Millisecond {
		t.Errorf("first attempt of a 400ms request: %v, want the 250ms floor", d)
	}
}
