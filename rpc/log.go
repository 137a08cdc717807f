package rpc

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// logCalls logs one line per call: method, client, code and duration.
func (s *Server) logCalls(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	st, _ := status.FromError(err)
	s.log.Debug("rpc", "method", info.FullMethod, "who", clientName(ctx), "code", st.Code().String(), "duration", time.Since(start))
	return resp, err
}
