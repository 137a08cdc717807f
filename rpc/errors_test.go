package rpc

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/storage"
)

func TestToStatus(t *testing.T) {
	tests := []struct {
		err  error
		want codes.Code
	}{
		{nil, codes.OK},
		{fmt.Errorf("x: %w", errNotFound), codes.NotFound},
		{fmt.Errorf("x: %w", catalog.ErrNoProfile), codes.NotFound},
		{fmt.Errorf("%w (%w): pool limited", catalog.ErrNotRegistered, catalog.ErrNoMatch), codes.PermissionDenied},
		{fmt.Errorf("x: %w", catalog.ErrInvalid), codes.InvalidArgument},
		{fmt.Errorf("x: %w", groups.ErrBadMAC), codes.InvalidArgument},
		{fmt.Errorf("writing: %w", storage.ErrUnavailable), codes.Unavailable},
		{fmt.Errorf("pin: %w", storage.ErrConflict), codes.FailedPrecondition},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
		{fmt.Errorf("x: %w", context.Canceled), codes.Canceled},
		{errors.New("disk on fire"), codes.Internal},
		{status.Error(codes.PermissionDenied, "kept"), codes.PermissionDenied},
	}
	for _, tc := range tests {
		got := toStatus(tc.err)
		if status.Code(got) != tc.want {
			t.Errorf("toStatus(%v) = %v, want %v", tc.err, status.Code(got), tc.want)
		}
		if tc.err != nil && status.Convert(got).Message() != tc.err.Error() && status.Code(tc.err) == codes.Unknown {
			t.Errorf("toStatus(%v) message %q: the cause's text is the message", tc.err, status.Convert(got).Message())
		}
	}
}
