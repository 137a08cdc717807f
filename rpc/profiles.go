package rpc

import (
	"context"
	"fmt"
	"maps"
	"slices"

	pb "github.com/poseidon/matchbox/matchbox/server/serverpb"
	"github.com/poseidon/matchbox/matchbox/storage/storagepb"

	"github.com/provisiond/provisiond/catalog"
)

// profilesServer implements rpcpb.ProfilesServer.
type profilesServer struct{ s *Server }

// ProfilePut creates or replaces a profile. The templates it names need
// not exist yet: terraform-provider-matchbox puts them right after.
func (h profilesServer) ProfilePut(ctx context.Context, req *pb.ProfilePutRequest) (*pb.ProfilePutResponse, error) {
	p, err := toProfile(req.GetProfile())
	if err != nil {
		return nil, toStatus(err)
	}
	err = h.s.update(ctx, "put", "profiles/"+p.ID, func(c *catalog.Catalog) error {
		c.Profiles[p.ID] = p
		c.Sources.Delete("profiles/" + p.ID)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &pb.ProfilePutResponse{}, nil
}

// ProfileGet returns a profile as it was put.
func (h profilesServer) ProfileGet(ctx context.Context, req *pb.ProfileGetRequest) (*pb.ProfileGetResponse, error) {
	p, ok := h.s.current().Profiles[req.GetId()]
	if !ok {
		return nil, toStatus(fmt.Errorf("%w: profile %q", errNotFound, req.GetId()))
	}
	return &pb.ProfileGetResponse{Profile: fromProfile(p)}, nil
}

// ProfileDelete deletes a profile, whether or not groups still name it.
func (h profilesServer) ProfileDelete(ctx context.Context, req *pb.ProfileDeleteRequest) (*pb.ProfileDeleteResponse, error) {
	id := req.GetId()
	err := h.s.update(ctx, "delete", "profiles/"+id, func(c *catalog.Catalog) error {
		if _, ok := c.Profiles[id]; !ok {
			return fmt.Errorf("%w: profile %q", errNotFound, id)
		}
		delete(c.Profiles, id)
		c.Sources.Delete("profiles/" + id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &pb.ProfileDeleteResponse{}, nil
}

// ProfileList lists every profile, sorted by id.
func (h profilesServer) ProfileList(ctx context.Context, req *pb.ProfileListRequest) (*pb.ProfileListResponse, error) {
	c := h.s.current()
	out := make([]*storagepb.Profile, 0, len(c.Profiles))
	for _, id := range sortedKeys(c.Profiles) {
		out = append(out, fromProfile(c.Profiles[id]))
	}
	return &pb.ProfileListResponse{Profiles: out}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
