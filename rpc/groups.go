package rpc

import (
	"context"
	"fmt"

	pb "github.com/poseidon/matchbox/matchbox/server/serverpb"
	"github.com/poseidon/matchbox/matchbox/storage/storagepb"

	"github.com/provisiond/provisiond/catalog"
)

// groupsServer implements rpcpb.GroupsServer.
type groupsServer struct{ s *Server }

// GroupPut creates or replaces a group. Its profile need not exist yet.
func (h groupsServer) GroupPut(ctx context.Context, req *pb.GroupPutRequest) (*pb.GroupPutResponse, error) {
	g, err := toGroup(req.GetGroup())
	if err != nil {
		return nil, toStatus(err)
	}
	err = h.s.update(ctx, "put", "groups/"+g.ID, func(c *catalog.Catalog) error {
		c.Groups[g.ID] = g
		c.Sources.Delete("groups/" + g.ID)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &pb.GroupPutResponse{}, nil
}

// GroupGet returns a group as it was put.
func (h groupsServer) GroupGet(ctx context.Context, req *pb.GroupGetRequest) (*pb.GroupGetResponse, error) {
	g, ok := h.s.current().Groups[req.GetId()]
	if !ok {
		return nil, toStatus(fmt.Errorf("%w: group %q", errNotFound, req.GetId()))
	}
	out, err := fromGroup(g)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.GroupGetResponse{Group: out}, nil
}

// GroupDelete deletes a group.
func (h groupsServer) GroupDelete(ctx context.Context, req *pb.GroupDeleteRequest) (*pb.GroupDeleteResponse, error) {
	id := req.GetId()
	err := h.s.update(ctx, "delete", "groups/"+id, func(c *catalog.Catalog) error {
		if _, ok := c.Groups[id]; !ok {
			return fmt.Errorf("%w: group %q", errNotFound, id)
		}
		delete(c.Groups, id)
		c.Sources.Delete("groups/" + id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &pb.GroupDeleteResponse{}, nil
}

// GroupList lists every group, sorted by id.
func (h groupsServer) GroupList(ctx context.Context, req *pb.GroupListRequest) (*pb.GroupListResponse, error) {
	c := h.s.current()
	out := make([]*storagepb.Group, 0, len(c.Groups))
	for _, id := range sortedKeys(c.Groups) {
		g, err := fromGroup(c.Groups[id])
		if err != nil {
			return nil, toStatus(err)
		}
		out = append(out, g)
	}
	return &pb.GroupListResponse{Groups: out}, nil
}
