package rpc

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/profiles"
	"github.com/provisiond/provisiond/storage"
)

// errNotFound and errBadRequest classify the API's own refusals.
var (
	errNotFound   = errors.New("not found")
	errBadRequest = errors.New("bad request")
)

// validName is what an id or template name may be: it becomes a file name
// in a matchbox-layout directory (the REST API allows the same).
var validName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._@+-]{0,127}$`)

func checkName(field, name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("%w: %s %q: want 1 to 128 letters, digits and ._@+- (not starting with . or -)", errBadRequest, field, name)
	}
	return nil
}

// toStatus maps an error to a gRPC status, in one place: NotFound for a
// missing object or no match (matchbox's code too), InvalidArgument for
// content the catalog refuses, Unavailable when the store cannot write now,
// PermissionDenied for an unregistered machine claiming a limited pool,
// FailedPrecondition for a conflict with stored leases, Canceled or
// DeadlineExceeded for the caller's context, Internal for the rest.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Internal
	switch {
	case errors.Is(err, catalog.ErrNotRegistered):
		// before ErrNoMatch, which it also is: a machine claiming a group
		// whose pool is limited to registered machines (the boot listener's 403)
		code = codes.PermissionDenied
	case errors.Is(err, errNotFound), errors.Is(err, catalog.ErrNoMatch):
		code = codes.NotFound
	case errors.Is(err, errBadRequest), errors.Is(err, catalog.ErrInvalid),
		errors.Is(err, groups.ErrInvalid), errors.Is(err, profiles.ErrInvalid),
		errors.Is(err, groups.ErrBadMAC), errors.Is(err, groups.ErrBadUUID), errors.Is(err, groups.ErrBadLabels):
		code = codes.InvalidArgument
	case errors.Is(err, storage.ErrUnavailable):
		// the store cannot write now (no quorum, a full disk): the client
		// may retry; the error names the store (bbolt file or etcd) and
		// the cause
		code = codes.Unavailable
	case errors.Is(err, storage.ErrConflict):
		code = codes.FailedPrecondition // e.g. a pin on another machine's lease
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	return status.Error(code, err.Error())
}
