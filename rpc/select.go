package rpc

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	pb "github.com/poseidon/matchbox/matchbox/server/serverpb"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
)

// selectServer implements rpcpb.SelectServer through the Resolver.
type selectServer struct{ s *Server }

// resolve parses the labels as a boot request's query is parsed (mac and
// uuid normalized, keys lowercased) and resolves them. matchbox's
// messages ("matchbox: No matching Group", "... Profile") lead the error
// text; the reason follows.
func (h selectServer) resolve(ctx context.Context, labels map[string]string, what string) (*catalog.Match, error) {
	q := url.Values{}
	for k, v := range labels {
		q.Set(k, v)
	}
	l, err := groups.FromQuery(q)
	if err != nil {
		return nil, toStatus(fmt.Errorf("%w: labels: %w", errBadRequest, err))
	}
	m, err := h.s.cfg.Resolver.Resolve(ctx, l)
	if what == "Group" && errors.Is(err, catalog.ErrNoProfile) && m != nil && m.Group != nil {
		return m, nil // matchbox answers the group; its profile is another question
	}
	if err == nil && m.Profile == nil && what == "Profile" {
		err = fmt.Errorf("%w: group %q names profile %q, which does not exist", catalog.ErrNoMatch, m.Group.ID, m.Group.Profile)
	}
	if err != nil {
		if errors.Is(err, catalog.ErrNoMatch) {
			err = fmt.Errorf("matchbox: No matching %s: %w", what, err)
		}
		return nil, toStatus(err)
	}
	return m, nil
}

// SelectGroup returns the group a machine with these labels matches.
func (h selectServer) SelectGroup(ctx context.Context, req *pb.SelectGroupRequest) (*pb.SelectGroupResponse, error) {
	m, err := h.resolve(ctx, req.GetLabels(), "Group")
	if err != nil {
		return nil, err
	}
	g, err := fromGroup(m.Group)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.SelectGroupResponse{Group: g}, nil
}

// SelectProfile returns the profile of the group a machine with these
// labels matches.
func (h selectServer) SelectProfile(ctx context.Context, req *pb.SelectProfileRequest) (*pb.SelectProfileResponse, error) {
	m, err := h.resolve(ctx, req.GetLabels(), "Profile")
	if err != nil {
		return nil, err
	}
	return &pb.SelectProfileResponse{Profile: fromProfile(m.Profile)}, nil
}
