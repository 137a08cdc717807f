package rpc

import (
	"context"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/provisiond/provisiond/catalog"
)

// update makes one change through the catalog-management service and logs
// it with the client's certificate name and the warnings it raised (a
// dangling reference among them: a profile put before its template).
func (s *Server) update(ctx context.Context, op, ref string, fn func(*catalog.Catalog) error) error {
	_, warnings, err := s.cfg.Catalog.Update(ctx, fn)
	who := clientName(ctx)
	if err != nil {
		s.metrics.changes.WithLabelValues(op, "refused").Inc()
		s.log.Info("rpc change refused", "op", op, "ref", ref, "who", who, "err", err)
		return toStatus(err)
	}
	s.metrics.changes.WithLabelValues(op, "ok").Inc()
	s.log.Info("rpc change", "op", op, "ref", ref, "who", who)
	for _, w := range warnings {
		s.log.Warn("catalog", "warning", w, "after", op+" "+ref)
	}
	return nil
}

// current returns the served catalog, or an empty one before the first
// load.
func (s *Server) current() *catalog.Catalog {
	if snap := s.cfg.Catalog.Current(); snap != nil {
		return snap.Catalog
	}
	return catalog.New()
}

// clientName is the common name of the client's verified certificate.
func clientName(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return ""
	}
	if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.VerifiedChains) > 0 && len(ti.State.VerifiedChains[0]) > 0 {
		return ti.State.VerifiedChains[0][0].Subject.CommonName
	}
	return p.Addr.String()
}
