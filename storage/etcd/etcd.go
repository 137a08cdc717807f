package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/provisiond/provisiond/storage"
)

// Defaults of the Config fields left zero.
const (
	DefaultPrefix          = "/provisiond/"
	DefaultDialTimeout     = 5 * time.Second
	DefaultRequestTimeout  = 4 * time.Second
	DefaultMaxTxnOps       = 128         // etcd's --max-txn-ops default
	DefaultMaxRequestBytes = 1536 * 1024 // etcd's --max-request-bytes default
	requestSlack           = 64 * 1024   // room left in a request for lease keys
	schemaVersion          = "1"
)

// Config says which etcd cluster to use and how.
type Config struct {
	// Endpoints are the client URLs of the cluster's members
	// (http://10.0.0.11:2379, or https:// with TLS). Required.
	Endpoints []string
	// Prefix is put in front of every key (default "/provisiond/"). Two
	// provisiond deployments can share a cluster with different prefixes.
	// A missing trailing slash is added.
	Prefix string
	// CertFile and KeyFile are a client certificate and its key; CAFile is
	// the CA that signed the members' certificates. Any of them turns TLS
	// on.
	CertFile, KeyFile, CAFile string
	// DialTimeout bounds the first connection at Open (default 5s).
	DialTimeout time.Duration
	// RequestTimeout is the time a request is tried for (default 4s),
	// extended at most twice while the cluster has a leader (see budget).
	// It is what turns a cluster without quorum into
	// storage.ErrUnavailable, after 1.5 RequestTimeouts, rather than a
	// boot request that hangs.
	RequestTimeout time.Duration
	// MaxTxnOps and MaxRequestBytes are the cluster's --max-txn-ops and
	// --max-request-bytes (defaults 128 and 1.5 MiB, etcd's own). A catalog
	// replacement that would exceed them is refused with a clear error
	// before anything is sent.
	MaxTxnOps       int
	MaxRequestBytes int
}

// Store is the etcd backend. It is safe for concurrent use, by any number
// of processes sharing the cluster and prefix.
type Store struct {
	cfg    Config
	cli    *clientv3.Client
	closed atomic.Bool

	batchMu  sync.Mutex
	batchers map[string]*batcher // by pool name
}

// Open connects to the cluster, checks it answers within DialTimeout, and
// records the schema version under the prefix (refusing a prefix written
// by an incompatible provisiond).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("no etcd endpoints")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.MaxTxnOps <= 0 {
		cfg.MaxTxnOps = DefaultMaxTxnOps
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	cc := clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: cfg.DialTimeout,
		Logger:      zap.NewNop(),
		// Detect a dead connection (a member that went away) quickly, so
		// that requests move to another member.
		DialKeepAliveTime:    5 * time.Second,
		DialKeepAliveTimeout: 3 * time.Second,
		// Reconnect to a member that comes back within 2s, not gRPC's
		// default of up to two minutes.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: cfg.DialTimeout,
		})},
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" || cfg.CAFile != "" {
		if (cfg.CertFile == "") != (cfg.KeyFile == "") {
			return nil, errors.New("a client certificate needs both its cert and its key file")
		}
		tc, err := transport.TLSInfo{CertFile: cfg.CertFile, KeyFile: cfg.KeyFile, TrustedCAFile: cfg.CAFile}.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("etcd TLS: %w", err)
		}
		cc.TLS = tc
	}
	cli, err := clientv3.New(cc)
	if err != nil {
		return nil, fmt.Errorf("etcd %s: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	s := &Store{cfg: cfg, cli: cli, batchers: map[string]*batcher{}}
	if err := s.init(ctx); err != nil {
		cli.Close()
		return nil, fmt.Errorf("etcd %s: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	return s, nil
}

func (s *Store) init(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
	defer cancel()
	key := s.cfg.Prefix + "meta/schema"
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, schemaVersion)).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return s.wrap("checking the schema", err)
	}
	if !resp.Succeeded {
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 1 && string(kvs[0].Value) != schemaVersion {
			return fmt.Errorf("prefix %s holds schema version %s, this provisiond knows %s", s.cfg.Prefix, kvs[0].Value, schemaVersion)
		}
	}
	return nil
}

// Close closes the client. Every later call returns storage.ErrUnavailable.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.cli.Close()
}

// Prefix returns the key prefix in use, with its trailing slash.
func (s *Store) Prefix() string { return s.cfg.Prefix }

var errClosed = fmt.Errorf("%w: etcd store closed", storage.ErrUnavailable)

// do runs one request, fn, within its budget: RequestTimeout, extended
// while the cluster has a leader, never past parent's deadline. An
// attempt that fails because the cluster cannot answer right now (a
// leader election, a member that went away, a commit slower than the
// attempt's time) is tried again while time is left. The first
// attempt gets a quarter of the time, so that one sent to a member that
// hangs (cut off, or stopping) leaves time for another (the client
// spreads requests over all endpoints); each retry gets twice as long as
// the one before, so that a cluster that is slow, not gone, gets the time
// it needs instead of a storm of abandoned attempts. fn must be safe to
// repeat: reads, or writes under compares that make a repeat of a
// committed write fail harmlessly. Errors are wrapped (wrap).
func (s *Store) do(parent context.Context, op string, fn func(ctx context.Context) error) error {
	return s.attempts(parent, op, s.attemptTimeout, fn)
}

// doLong is do for reads that may take long (every lease, the
// inventory, the catalog): an attempt may use all the time left, and only
// a quick failure is tried again.
func (s *Store) doLong(parent context.Context, op string, fn func(ctx context.Context) error) error {
	return s.attempts(parent, op, func(int) time.Duration { return s.cfg.RequestTimeout }, fn)
}

// attemptTimeout is the time attempt number retry (0 for the first) of a
// request gets: a quarter of RequestTimeout (at least 250ms), doubled on
// every retry.
func (s *Store) attemptTimeout(retry int) time.Duration {
	d := max(s.cfg.RequestTimeout/4, 250*time.Millisecond)
	for range min(retry, 8) {
		d *= 2
	}
	return d
}

func (s *Store) attempts(parent context.Context, op string, perAttempt func(retry int) time.Duration, fn func(ctx context.Context) error) error {
	b := s.newBudget(parent)
	for {
		if s.closed.Load() {
			return errClosed
		}
		ctx, cancel := b.attempt(parent, perAttempt)
		err := fn(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if !unavailable(err) {
			return s.wrap(op, err)
		}
		if !b.retry(parent) {
			return s.wrap(op, fmt.Errorf("%w (%s)", err, b))
		}
	}
}

// retryPause is the wait before retrying a request the cluster could not
// answer.
const retryPause = 100 * time.Millisecond

// wrap turns the errors that mean "the cluster cannot answer now" (no
// leader, no quorum, timeouts, members unreachable, the client closed)
// into storage.ErrUnavailable, with a message that says so; what etcd
// refuses for size is explained. Other errors get the operation as prefix.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if s.closed.Load() {
		return fmt.Errorf("%w: %s: etcd store closed", storage.ErrUnavailable, op)
	}
	if errors.Is(err, rpctypes.ErrTooManyOps) || errors.Is(err, rpctypes.ErrGRPCTooManyOps) {
		return fmt.Errorf("%s: etcd refused a transaction of more than its --max-txn-ops (this provisiond assumes %d): %w", op, s.cfg.MaxTxnOps, err)
	}
	if errors.Is(err, rpctypes.ErrRequestTooLarge) || errors.Is(err, rpctypes.ErrGRPCRequestTooLarge) {
		return fmt.Errorf("%s: etcd refused a request larger than its --max-request-bytes (this provisiond assumes %d): %w", op, s.cfg.MaxRequestBytes, err)
	}
	if noSpace(err) {
		return fmt.Errorf("%w: %s: etcd is out of space (its NOSPACE alarm is raised: compact, defragment and disarm it, or raise --quota-backend-bytes): %v", storage.ErrUnavailable, op, err)
	}
	if unavailable(err) {
		return fmt.Errorf("%w: etcd unavailable (no quorum?): %s: %v", storage.ErrUnavailable, op, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func noSpace(err error) bool {
	return errors.Is(err, rpctypes.ErrGRPCNoSpace) || errors.Is(err, rpctypes.ErrNoSpace)
}

// unavailable says err means the cluster cannot answer now (no leader,
// leader changed, timeouts, members unreachable, too many requests): worth
// trying again. A full database (NOSPACE) is not: it lasts until an
// operator acts.
func unavailable(err error) bool {
	if noSpace(err) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, clientv3.ErrNoAvailableEndpoints) {
		return true
	}
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		switch ee.Code() {
		case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.ResourceExhausted:
			return true
		}
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.ResourceExhausted:
		return true
	case codes.Unknown:
		// A member stopping while it handles the request answers raft's
		// own error, which etcd does not map to a gRPC code.
		return strings.Contains(status.Convert(err).Message(), "raft: stopped")
	}
	return false
}
