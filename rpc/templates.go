package rpc

import (
	"context"
	"fmt"
	"unicode/utf8"

	pb "github.com/poseidon/matchbox/matchbox/server/serverpb"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/profiles"
)

const (
	kindIgnition = profiles.KindIgnition
	kindGeneric  = profiles.KindGeneric
)

// templatesServer implements rpcpb.IgnitionServer, and the generic
// methods below for rpcpb.GenericServer. Ignition templates are raw
// Ignition when named <name>.ign or <name>.ignition (the provider's
// raw_ignition), Butane otherwise (its container_linux_config, named
// <name>.yaml.tmpl).
type templatesServer struct {
	s    *Server
	kind profiles.Kind
}

func (h templatesServer) put(ctx context.Context, name string, config []byte) error {
	if err := checkName(string(h.kind)+" template name", name); err != nil {
		return toStatus(err)
	}
	if !utf8.Valid(config) {
		return toStatus(fmt.Errorf("%w: %s/%s: not UTF-8 text", errBadRequest, h.kind, name))
	}
	ref := string(h.kind) + "/" + name
	return h.s.update(ctx, "put", ref, func(c *catalog.Catalog) error {
		c.Templates[h.kind][name] = string(config)
		c.Sources.Delete(ref)
		return nil
	})
}

func (h templatesServer) get(name string) ([]byte, error) {
	text, ok := h.s.current().Template(h.kind, name)
	if !ok {
		return nil, toStatus(fmt.Errorf("%w: %s template %q", errNotFound, h.kind, name))
	}
	return []byte(text), nil
}

func (h templatesServer) delete(ctx context.Context, name string) error {
	ref := string(h.kind) + "/" + name
	return h.s.update(ctx, "delete", ref, func(c *catalog.Catalog) error {
		if _, ok := c.Templates[h.kind][name]; !ok {
			return fmt.Errorf("%w: %s template %q", errNotFound, h.kind, name)
		}
		delete(c.Templates[h.kind], name)
		c.Sources.Delete(ref)
		return nil
	})
}

// IgnitionPut creates or replaces an Ignition or Butane template.
func (h templatesServer) IgnitionPut(ctx context.Context, req *pb.IgnitionPutRequest) (*pb.IgnitionPutResponse, error) {
	if err := h.put(ctx, req.GetName(), req.GetConfig()); err != nil {
		return nil, err
	}
	return &pb.IgnitionPutResponse{}, nil
}

// IgnitionGet returns a template as it was put.
func (h templatesServer) IgnitionGet(ctx context.Context, req *pb.IgnitionGetRequest) (*pb.IgnitionGetResponse, error) {
	b, err := h.get(req.GetName())
	if err != nil {
		return nil, err
	}
	return &pb.IgnitionGetResponse{Config: b}, nil
}

// IgnitionDelete deletes a template, whether or not profiles still name it.
func (h templatesServer) IgnitionDelete(ctx context.Context, req *pb.IgnitionDeleteRequest) (*pb.IgnitionDeleteResponse, error) {
	if err := h.delete(ctx, req.GetName()); err != nil {
		return nil, err
	}
	return &pb.IgnitionDeleteResponse{}, nil
}

// genericServer implements rpcpb.GenericServer.
type genericServer struct{ templatesServer }

// GenericPut creates or replaces a generic template.
func (h genericServer) GenericPut(ctx context.Context, req *pb.GenericPutRequest) (*pb.GenericPutResponse, error) {
	if err := h.put(ctx, req.GetName(), req.GetConfig()); err != nil {
		return nil, err
	}
	return &pb.GenericPutResponse{}, nil
}

// GenericGet returns a generic template as it was put.
func (h genericServer) GenericGet(ctx context.Context, req *pb.GenericGetRequest) (*pb.GenericGetResponse, error) {
	b, err := h.get(req.GetName())
	if err != nil {
		return nil, err
	}
	return &pb.GenericGetResponse{Config: b}, nil
}

// GenericDelete deletes a generic template.
func (h genericServer) GenericDelete(ctx context.Context, req *pb.GenericDeleteRequest) (*pb.GenericDeleteResponse, error) {
	if err := h.delete(ctx, req.GetName()); err != nil {
		return nil, err
	}
	return &pb.GenericDeleteResponse{}, nil
}
