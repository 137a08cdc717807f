package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/poseidon/matchbox/matchbox/rpc/rpcpb"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
)

// Catalog is the catalog-management service the API reads and writes.
// storage.Catalogs satisfies it.
type Catalog interface {
	// Current returns the snapshot being served, nil before the first load.
	Current() *catalog.Snapshot
	// Update applies fn to a copy of the current catalog (fn replaces the
	// objects it changes, never modifies them), then validates, stores and
	// serves the result, returning it with its warnings. An error from fn
	// is returned as is; nothing changes on any error.
	Update(ctx context.Context, fn func(*catalog.Catalog) error) (*catalog.Snapshot, []string, error)
}

// Resolver is the resolution service: the group and profile a machine with
// these labels gets. It returns an error wrapping catalog.ErrNoMatch when
// none, with the reason in its text (no group matches; the group's profile
// does not exist).
type Resolver interface {
	Resolve(ctx context.Context, labels groups.Labels) (*catalog.Match, error)
}

// SnapshotResolver resolves against the current snapshot of a Catalog
// (catalog.Snapshot.Resolve), without leases or the machine registry's
// side effects: what matchbox's Select answers.
type SnapshotResolver struct{ Catalog Catalog }

// Resolve implements Resolver.
func (r SnapshotResolver) Resolve(_ context.Context, labels groups.Labels) (*catalog.Match, error) {
	snap := r.Catalog.Current()
	if snap == nil {
		return nil, fmt.Errorf("%w: no catalog loaded", catalog.ErrNoMatch)
	}
	return snap.Resolve(labels)
}

// Config configures a Server.
type Config struct {
	TLS      TLSFiles
	Catalog  Catalog
	Resolver Resolver     // nil: SnapshotResolver{Catalog}
	Logger   *slog.Logger // nil: slog.Default()
	// Registry receives the API's metrics (provisiond_rpc_*); nil: none
	// are exported.
	Registry prometheus.Registerer
}

// Server is matchbox's gRPC API over mutual TLS.
type Server struct {
	cfg     Config
	log     *slog.Logger
	grpc    *grpc.Server
	tls     atomic.Pointer[tlsState]
	metrics *metrics
}

// maxMessage bounds a request: a template may be as large as a catalog
// file, plus room for the envelope.
const maxMessage = catalog.MaxFileSize + 64<<10

// NewServer checks cfg and loads its certificates. It fails, naming the
// flag, when any of the three TLS files is missing or unreadable: the API
// is never served without mutual TLS.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Catalog == nil {
		return nil, errors.New("rpc: no catalog")
	}
	st, err := cfg.TLS.load()
	if err != nil {
		return nil, err
	}
	if cfg.Resolver == nil {
		cfg.Resolver = SnapshotResolver{cfg.Catalog}
	}
	s := &Server{cfg: cfg, log: cfg.Logger, metrics: newMetrics(cfg.Registry)}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.tls.Store(st)
	// Each handshake takes the files as last loaded (see ReloadTLS).
	tlsConf := &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2"},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return s.tls.Load().config(), nil
		},
	}
	s.grpc = grpc.NewServer(
		grpc.Creds(credentials.NewTLS(tlsConf)),
		grpc.ConnectionTimeout(20*time.Second), // the TLS handshake
		grpc.MaxRecvMsgSize(maxMessage),
		grpc.MaxSendMsgSize(maxMessage),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 15 * time.Minute}),
		grpc.ChainUnaryInterceptor(s.logCalls),
	)
	rpcpb.RegisterGroupsServer(s.grpc, groupsServer{s})
	rpcpb.RegisterProfilesServer(s.grpc, profilesServer{s})
	rpcpb.RegisterIgnitionServer(s.grpc, templatesServer{s, kindIgnition})
	rpcpb.RegisterGenericServer(s.grpc, genericServer{templatesServer{s, kindGeneric}})
	rpcpb.RegisterSelectServer(s.grpc, selectServer{s})
	return s, nil
}

// ReloadTLS reads the certificate, key and CA files again (on SIGHUP, as
// the other listeners' certificates are): new connections use them,
// established ones keep theirs. On error the files in use stay in use.
func (s *Server) ReloadTLS() error {
	st, err := s.cfg.TLS.load()
	if err != nil {
		return err
	}
	s.tls.Store(st)
	return nil
}

// Serve answers gRPC on l until Shutdown; it returns nil after Shutdown.
func (s *Server) Serve(l net.Listener) error {
	err := s.grpc.Serve(l)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits for calls in flight
// until ctx ends, then closes what remains.
func (s *Server) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.grpc.Stop()
		<-done
		return ctx.Err()
	}
}
