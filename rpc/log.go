package rpc

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// logCalls logs one line per call (method, client, code and duration) and
// counts it in the metrics.
func (s *Server) logCalls(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	st, _ := status.FromError(err)
	s.metrics.observe(info.FullMethod, st.Code(), time.Since(start))
	s.log.Debug("rpc", "method", info.FullMethod, "who", clientName(ctx), "code", st.Code().String(), "duration", time.Since(start))
	return resp, err
}
